skrull trace stats --field 'messages[].content' --chars-per-token 0 tests/data/trace/chat.jsonl
