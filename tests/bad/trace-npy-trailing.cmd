skrull trace convert -o out.txt tests/bad/files/extra.npy
