cp tests/data/cli/good.txt t.txt
skrull trace convert -o /dev/stdout t.txt >>t.txt
