skrull trace stats tests/bad/files/blank.txt
