skrull compare --trace tests/data/cli/good.txt --profile tests/data/profile/missing.json
