cp tests/data/cli/good.txt t.txt
ln -s t.txt l.txt
skrull trace sample -n 4 t.txt -o l.txt
