skrull tarce stats traces/wikipedia.txt.gz
