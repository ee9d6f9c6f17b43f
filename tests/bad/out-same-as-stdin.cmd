cp tests/data/cli/good.txt t.txt
skrull trace convert -o t.txt - <t.txt
