cp tests/data/cli/good.txt t.txt
skrull trace convert t.txt >>t.txt
