skrull calibrate --quick -o no-such-dir/p.json
