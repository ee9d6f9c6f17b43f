skrull trace stats tests/bad/files/twice.npy
