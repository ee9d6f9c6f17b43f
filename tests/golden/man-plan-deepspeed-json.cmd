skrull plan --trace traces/synth-wikipedia-zh.txt.gz --policy deepspeed --mb-samples 1 --json
