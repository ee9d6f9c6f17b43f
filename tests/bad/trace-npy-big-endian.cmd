skrull trace stats tests/bad/files/big-endian.npy
