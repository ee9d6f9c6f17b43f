cp tests/data/profile/half-h100.json prof.json
skrull plan --trace tests/data/cli/good.txt --drop-overlong -o p.json >/dev/null
skrull sim --plan p.json --profile prof.json --timeline prof.json
