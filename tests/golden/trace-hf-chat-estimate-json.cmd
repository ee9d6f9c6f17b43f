skrull trace stats --json --field 'messages[].content' --chars-per-token 4 tests/data/trace/chat.jsonl
