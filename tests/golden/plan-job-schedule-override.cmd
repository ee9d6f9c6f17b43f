skrull plan --job tests/data/job/schedule.json --trace traces/mooncake_conversation.jsonl.gz --field input_length+output_length --policy sorted --mb-samples 2
