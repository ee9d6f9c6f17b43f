skrull trace convert -o out.txt tests/bad/files/first-hex.txt
