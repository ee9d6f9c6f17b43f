skrull plan --trace tests/data/cli/good.txt --dp 1 --cp 2 --nodes 1 --gpus-per-node 2 --batch 3 --bucket 16384 --drop-overlong -o p.json >/dev/null
jq 'del(.iterations[-1])' p.json >bad.json
skrull plan --check bad.json --trace tests/data/cli/good.txt
