skrull tune --trace tests/data/cli/good.txt --threads 0 -o out.json
