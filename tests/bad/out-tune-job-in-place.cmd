skrull trace synth -n 256 --seed 3 --min 8 --max 4096 lognormal:512:1 -o t.txt
skrull show job --json --nodes 1 --gpus-per-node 2 --dp 2 --cp 1 >job.json
skrull tune --job job.json --trace t.txt --global-batch 8 --max-batches 2 -o job.json
