skrull trace convert -o out.txt tests/bad/files/member2-corrupt.txt.gz
