skrull trace stats tests/bad/files/2e32.jsonl
