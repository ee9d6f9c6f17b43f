skrull sim --trace tests/bad/files/neg.idx
