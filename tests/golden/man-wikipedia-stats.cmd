skrull trace stats traces/wikipedia.txt.gz
