echo keep >out.txt
skrull trace convert --field length -o out.txt tests/bad/files/unterminated.csv
