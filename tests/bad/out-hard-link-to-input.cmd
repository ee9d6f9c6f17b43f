cp tests/data/cli/good.txt t.txt
ln t.txt l.txt
skrull trace convert t.txt -o l.txt
