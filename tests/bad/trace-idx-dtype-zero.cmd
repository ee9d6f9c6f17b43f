skrull trace stats tests/bad/files/dtype0.idx
