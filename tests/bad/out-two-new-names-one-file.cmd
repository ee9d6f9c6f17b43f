skrull trace synth -n 256 --seed 3 --min 8 --max 4096 lognormal:512:1 -o t.txt
skrull tune --trace t.txt --nodes 1 --gpus-per-node 2 --global-batch 8 --max-batches 2 --sensitivity s -o ./s-bucket.csv
