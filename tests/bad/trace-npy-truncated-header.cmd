skrull trace stats tests/bad/files/hdrcut.npy
