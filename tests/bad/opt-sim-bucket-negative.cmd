skrull sim --trace tests/data/cli/good.txt --bucket -1
