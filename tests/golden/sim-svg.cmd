skrull sim --trace traces/synth-chatqa2-long-sft.txt.gz --dp 1 --cp 8 --nodes 1 --bucket 26000 --policy skrull-paper --no-rollback --iters 0:4 --threads 1 --svg s.svg >/dev/null 2>&1 && cat s.svg
