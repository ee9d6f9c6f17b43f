skrull trace convert --field input_length+output_length -o mooncake.csv traces/mooncake_conversation.jsonl.gz && skrull trace stats --json mooncake.csv | grep -m 1 tokens
