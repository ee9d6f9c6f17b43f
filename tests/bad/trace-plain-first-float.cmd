skrull trace stats tests/bad/files/first-float.txt
