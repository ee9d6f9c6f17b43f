skrull plan --trace tests/bad/files/nul.txt --drop-overlong -o no-such-dir/p.json
