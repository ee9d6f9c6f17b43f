skrull show job --json >job.json
skrull plan --job job.json --trace tests/data/cli/good.txt --drop-overlong -o job.json
