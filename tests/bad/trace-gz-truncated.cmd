skrull trace stats tests/bad/files/cut.txt.gz
