skrull sim --plan p.json --trace traces/wikipedia.txt.gz
