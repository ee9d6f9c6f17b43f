skrull trace stats tests/bad/files/space-inside.txt
