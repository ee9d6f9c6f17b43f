skrull show --json job | jq '.model.layers = 1000 | .model.hidden = 8192 | .model.ffn = 28672 | .model.heads = 64 | .model.kv_heads = 8 | .model.head_dim = 128' >big.json
skrull plan --trace tests/data/cli/good.txt --job big.json --drop-overlong -o p.json
