skrull trace stats tests/bad/files/short-row.tsv
