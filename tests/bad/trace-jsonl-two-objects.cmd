skrull trace stats tests/bad/files/two-objects.jsonl
