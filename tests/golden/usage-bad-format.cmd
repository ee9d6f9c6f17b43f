skrull trace stats --format parquet traces/wikipedia.txt.gz
