skrull plan --job tests/bad/files/job-dupkey.json --trace tests/data/cli/good.txt -o out.json
