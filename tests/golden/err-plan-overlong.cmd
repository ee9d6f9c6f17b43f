skrull plan --trace traces/wikipedia.txt.gz --bucket 26000
