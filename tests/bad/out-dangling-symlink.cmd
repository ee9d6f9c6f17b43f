ln -s nowhere/out.txt out.txt
skrull trace convert -o out.txt tests/data/cli/good.txt
