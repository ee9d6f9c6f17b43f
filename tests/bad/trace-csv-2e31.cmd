skrull trace stats tests/bad/files/2e31.csv
