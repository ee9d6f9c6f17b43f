skrull trace stats tests/bad/files/nul.txt
