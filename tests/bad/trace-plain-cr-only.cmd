skrull trace stats tests/bad/files/cr.txt
