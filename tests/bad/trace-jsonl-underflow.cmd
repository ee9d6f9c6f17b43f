skrull trace stats tests/bad/files/tiny.jsonl
