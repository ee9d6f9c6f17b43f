skrull trace convert -o no-such-dir/t.txt tests/bad/files/nul.txt
