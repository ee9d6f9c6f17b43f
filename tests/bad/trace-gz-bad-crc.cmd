skrull trace convert -o out.txt tests/bad/files/crc.txt.gz
