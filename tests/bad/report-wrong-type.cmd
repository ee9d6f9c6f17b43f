skrull sim --trace tests/data/cli/good.txt --drop-overlong --batch 1 --nodes 1 --gpus-per-node 8 --json >r.json
sed 's/"iterations":[[:space:]]*7/"iterations": "7"/' r.json >bad.json
skrull report diff r.json bad.json
