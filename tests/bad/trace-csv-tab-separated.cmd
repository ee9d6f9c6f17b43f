skrull trace stats tests/bad/files/tabs.tsv
