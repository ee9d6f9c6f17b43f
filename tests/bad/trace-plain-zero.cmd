skrull sim --trace tests/bad/files/zero.txt
