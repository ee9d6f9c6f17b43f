skrull tune --trace traces/etalon_sharegpt_8k.csv.gz --model qwen2.5-72b --cluster a100 --nodes 1 --gpus-per-node 2 --global-batch 8
