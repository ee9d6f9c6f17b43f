printf 'PAR1\025\004\000\000PAR1' >train.parquet
skrull trace stats train.parquet
