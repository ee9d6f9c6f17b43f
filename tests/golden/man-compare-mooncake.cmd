skrull compare --trace traces/mooncake_conversation.jsonl.gz --field input_length+output_length --bucket 26000 --iters 0:10 --threads 1
