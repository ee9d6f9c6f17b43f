skrull trace convert -o out.npy tests/bad/files/cut.jsonl
