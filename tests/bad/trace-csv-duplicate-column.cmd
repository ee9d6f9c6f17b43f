skrull trace stats tests/bad/files/dup-column.csv
