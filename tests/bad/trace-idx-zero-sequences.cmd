skrull trace stats tests/bad/files/zero-seq.idx
