skrull trace convert --field input_length+output_length traces/mooncake_conversation.jsonl.gz -o mooncake.npy && skrull trace stats --json mooncake.npy | grep -m 1 samples
