skrull trace stats tests/bad/files/blank-middle.txt
