skrull plan --trace traces/wikipedia.txt.gz --dp 4 --cp 4 --nodes 4
