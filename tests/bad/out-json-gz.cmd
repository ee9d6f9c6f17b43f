skrull plan --trace tests/data/cli/good.txt --drop-overlong -o p.json.gz
