skrull sim --trace tests/data/cli/good.txt --drop-overlong --batch 1 --nodes 1 --gpus-per-node 8 --json >r.json
head -c 300 r.json >cut.json
skrull report diff r.json cut.json
