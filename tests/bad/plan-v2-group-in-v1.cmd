skrull plan --trace tests/data/cli/good.txt --dp 2 --cp 4 --nodes 1 --gpus-per-node 8 --batch 2 --bucket 4096 --policy skrull-cp --drop-overlong -o p.json >/dev/null
sed 's/"version":2,"job"/"version":1,"job"/; s/\[2,2112,-1\]/[2,2112,0,2]/' p.json >bad.json
skrull plan --check bad.json
