skrull plan --trace tests/data/cli/good.txt --dp 2 --cp 1 --nodes 1 --gpus-per-node 2 --batch 2 --bucket 8192 --drop-overlong --policy skrull-cp -o p.json >/dev/null
sed 's/\[\[\[5,4096,0\]\]\]/[[[2,2112,0]]]/' p.json >bad.json
skrull plan --check bad.json
