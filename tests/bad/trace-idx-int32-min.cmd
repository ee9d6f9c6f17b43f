skrull trace stats tests/bad/files/min-int.idx
