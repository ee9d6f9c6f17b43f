skrull plan --trace traces/wikipedia.txt.gz --binpack best
