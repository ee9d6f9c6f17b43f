head -c 200 tests/data/profile/half-h100.json >bad.json
skrull plan --trace tests/data/cli/good.txt --profile bad.json -o out.json
