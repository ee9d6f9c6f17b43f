skrull trace stats tests/bad/files/shape0d.npy
