skrull trace stats tests/bad/files/v9.npy
