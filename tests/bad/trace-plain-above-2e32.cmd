skrull trace stats tests/bad/files/plain-2e32.txt
