skrull show --json job | jq '.model.name = "Qwen2.5-0.5B\u0000-cut"' >j.json
skrull plan --trace tests/data/cli/good.txt --job j.json --drop-overlong -o p.json
