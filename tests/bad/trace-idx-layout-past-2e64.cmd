skrull trace stats tests/bad/files/wrap.idx
