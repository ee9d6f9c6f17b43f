skrull plan --trace tests/data/cli/good.txt --dp 1 --cp 2 --nodes 1 --gpus-per-node 2 --batch 4 --bucket 4096 --policy skrull-paper --drop-overlong -o p.json >/dev/null
skrull run --plan p.json -o p.json
