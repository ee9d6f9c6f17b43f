skrull trace stats tests/bad/files/unknown-key.npy
