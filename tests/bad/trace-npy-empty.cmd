skrull trace stats tests/bad/files/empty.npy
