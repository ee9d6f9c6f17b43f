skrull trace stats tests/bad/files/more.idx
