skrull sim --job tests/bad/files/job-kernel-twice.json --trace tests/data/cli/good.txt
