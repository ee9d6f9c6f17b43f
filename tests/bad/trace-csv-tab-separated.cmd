skrull trace stats --format csv tests/bad/files/tabs.tsv
