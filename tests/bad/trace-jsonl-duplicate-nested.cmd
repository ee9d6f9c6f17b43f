skrull trace stats --field meta.length tests/bad/files/dup-nested.jsonl
