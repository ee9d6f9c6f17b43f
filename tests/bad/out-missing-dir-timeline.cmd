skrull sim --trace tests/bad/files/nul.txt --drop-overlong --timeline no-such-dir/tl.json
