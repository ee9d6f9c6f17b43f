skrull plan --trace tests/data/cli/good.txt --dp 1 --cp 2 --nodes 1 --gpus-per-node 2 --batch 4 --bucket 4096 --policy skrull-paper --drop-overlong -o p.json >/dev/null
sed 's/\[5,4096,-1\]/[9,4096,-1]/;s/"batch":\[0,2,4,5\]/"batch":[0,2,4,9]/' p.json >bad.json
skrull run --plan bad.json --trace tests/data/cli/good.txt --hidden 32 --layers 1 --heads 4 --kv-heads 2 --ffn 64 --vocab 97 -o out.json
