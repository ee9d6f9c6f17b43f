skrull trace stats tests/bad/files/nul.jsonl
