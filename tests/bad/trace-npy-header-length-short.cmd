skrull trace stats tests/bad/files/hlen-short.npy
