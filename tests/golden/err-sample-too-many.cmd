skrull trace sample -n 5000 tests/data/cli/good.txt
