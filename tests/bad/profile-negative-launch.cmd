sed 's/"launch": 10e-6/"launch": -10e-6/' tests/data/profile/half-h100.json >bad.json
skrull sim --trace tests/data/cli/good.txt --profile bad.json
