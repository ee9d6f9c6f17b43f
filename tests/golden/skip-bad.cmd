skrull trace stats --skip-bad tests/data/cli/zero.txt
