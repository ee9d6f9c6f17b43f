skrull trace stats tests/bad/files/uint8.npy
