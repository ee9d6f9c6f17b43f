skrull compare --trace traces/mooncake_conversation.jsonl.gz --field input_length+output_length --bucket 26000 --policies deepspeed,skrull --iters 0:3 --threads 1 --svg c.svg >/dev/null && cat c.svg
