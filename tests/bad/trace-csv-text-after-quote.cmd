skrull trace stats --field length tests/bad/files/after-quote.csv
