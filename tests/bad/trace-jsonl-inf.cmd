skrull trace stats tests/bad/files/inf.jsonl
