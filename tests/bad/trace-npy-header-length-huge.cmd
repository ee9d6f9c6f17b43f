skrull trace stats tests/bad/files/hlen-huge.npy
