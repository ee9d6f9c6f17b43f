skrull show --json job | jq '.cluster.efficiency.mem_eff = 1e-9' >slow.json
skrull sim --trace tests/data/cli/good.txt --job slow.json --drop-overlong --iters 0:1
