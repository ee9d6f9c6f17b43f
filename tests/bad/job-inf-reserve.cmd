skrull sim --job tests/bad/files/job-inf.json --trace tests/data/cli/good.txt
