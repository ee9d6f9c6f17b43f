skrull compare --trace tests/data/cli/good.txt --iters 0
