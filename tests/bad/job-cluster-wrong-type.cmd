skrull compare --job tests/bad/files/job-type.json --trace tests/data/cli/good.txt
