skrull plan --trace tests/data/cli/good.txt --drop-overlong -o p.json >/dev/null
skrull sim --plan p.json --timeline p.json
