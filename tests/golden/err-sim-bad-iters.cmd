skrull sim --trace traces/wikipedia.txt.gz --iters 9:3
