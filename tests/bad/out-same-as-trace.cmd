cp tests/data/cli/good.txt t.txt
skrull plan --trace t.txt --drop-overlong -o t.txt
