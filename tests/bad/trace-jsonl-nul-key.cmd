skrull trace stats tests/bad/files/nul-key.jsonl
