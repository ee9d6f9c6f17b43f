skrull trace stats --format idx tests/bad/files/extra.npy
