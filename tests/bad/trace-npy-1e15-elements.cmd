skrull trace stats tests/bad/files/huge.npy
