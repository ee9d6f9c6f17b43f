skrull trace convert tests/data/cli/good.txt -o out.jsonl
