skrull trace stats tests/bad/files/negative.txt
