skrull tune --job tests/bad/files/job-cut.json --trace tests/data/cli/good.txt -o out.json
