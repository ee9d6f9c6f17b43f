skrull trace stats tests/bad/files/escape.txt
