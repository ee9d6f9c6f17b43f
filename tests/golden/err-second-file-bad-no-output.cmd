skrull trace stats tests/data/cli/good.txt tests/data/cli/zero.txt
