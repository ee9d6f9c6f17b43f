skrull plan --trace traces/wikipedia.txt.gz --policy fastest
