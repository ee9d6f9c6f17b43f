skrull trace stats tests/bad/files/flags.txt.gz
