skrull trace stats tests/bad/files/deep.jsonl
