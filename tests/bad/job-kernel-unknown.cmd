skrull plan --job tests/bad/files/job-kernel-unknown.json --trace tests/data/cli/good.txt -o out.json
