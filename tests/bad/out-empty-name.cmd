skrull trace convert -o '' tests/data/cli/good.txt
