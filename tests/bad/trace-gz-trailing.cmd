skrull trace stats tests/bad/files/trailing.txt.gz
