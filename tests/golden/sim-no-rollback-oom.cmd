skrull sim --trace traces/synth-chatqa2-long-sft.txt.gz --dp 1 --cp 8 --nodes 1 --bucket 26000 --no-rollback --iters 0:4 --threads 1 --json | grep -E "\"(oom_count|iterations)\"" | head -n 2
