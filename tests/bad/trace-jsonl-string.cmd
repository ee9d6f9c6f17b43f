skrull trace stats --field length tests/bad/files/string.jsonl
