skrull trace stats --field 'messages[].content' tests/data/trace/chat.jsonl
