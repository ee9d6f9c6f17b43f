skrull trace stats --field input_length+output_length traces/mooncake_conversation.jsonl.gz
