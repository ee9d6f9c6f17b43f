skrull trace stats tests/bad/files/extra.npy.gz
