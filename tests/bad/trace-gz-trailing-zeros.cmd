skrull trace stats tests/bad/files/zeros.txt.gz
