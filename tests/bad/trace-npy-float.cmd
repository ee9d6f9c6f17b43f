skrull trace stats tests/bad/files/float.npy
