skrull trace stats --field messages tests/data/trace/chat.jsonl
