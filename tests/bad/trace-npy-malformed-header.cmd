skrull trace sample -n 2 -o out.txt tests/bad/files/badhdr.npy
