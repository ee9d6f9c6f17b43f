skrull trace stats tests/bad/files/shape2d.npy
