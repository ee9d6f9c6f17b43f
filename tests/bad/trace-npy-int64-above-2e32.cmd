skrull plan --trace tests/bad/files/i8-2e33.npy -o out.json
