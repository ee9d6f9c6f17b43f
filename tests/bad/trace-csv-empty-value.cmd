skrull trace stats --field length tests/bad/files/empty-value.csv
