skrull sim --trace traces/wikipedia.txt.gz --bucket 26000 --drop-overlong --iters 0:20 --threads 1
