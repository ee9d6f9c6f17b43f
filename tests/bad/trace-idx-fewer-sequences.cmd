skrull trace convert -o out.npy tests/bad/files/fewer.idx
