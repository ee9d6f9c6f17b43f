skrull trace stats tests/bad/files/bool.jsonl
