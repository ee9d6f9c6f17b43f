skrull plan --trace tests/data/cli/good.txt --dp 2 --cp 4 --nodes 1 --gpus-per-node 8 --batch 2 --bucket 4096 --policy skrull-cp --drop-overlong -o p.json >/dev/null
sed 's/\[4,5,-1\]/[0,347,0]/' p.json >bad.json
skrull plan --check bad.json
