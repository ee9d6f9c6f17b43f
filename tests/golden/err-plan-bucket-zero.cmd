skrull plan --trace tests/data/cli/good.txt --bucket 0
