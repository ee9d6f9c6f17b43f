skrull sim --trace tests/data/cli/good.txt --profile tests/data/profile/non-monotone.json
