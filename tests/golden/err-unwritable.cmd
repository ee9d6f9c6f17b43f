skrull trace convert -o no-such-dir/out.txt tests/data/cli/good.txt
