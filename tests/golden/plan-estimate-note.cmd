skrull plan --trace tests/data/trace/chat.jsonl --field 'messages[].content' --chars-per-token 4 --bucket 4096 --json >/dev/null
