skrull trace stats --bogus traces/wikipedia.txt.gz
