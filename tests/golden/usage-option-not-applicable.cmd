skrull trace stats --seed 3 traces/wikipedia.txt.gz
