skrull trace stats tests/bad/files/huge.idx
