skrull trace sample -n 4 -o no-such-dir/t.txt tests/bad/files/nul.txt
