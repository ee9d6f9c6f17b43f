skrull trace stats tests/bad/files/array.jsonl
