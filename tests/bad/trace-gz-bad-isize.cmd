skrull trace stats tests/bad/files/isize.txt.gz
