skrull plan --trace traces/synth-chatqa2-long-sft.txt.gz --dp 1 --cp 8 --nodes 1 --bucket 26000 --policy skrull-paper --no-rollback
