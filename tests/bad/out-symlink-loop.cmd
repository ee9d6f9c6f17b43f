ln -s loop loop
skrull trace convert -o loop tests/data/cli/good.txt
