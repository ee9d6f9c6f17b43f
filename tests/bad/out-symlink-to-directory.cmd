mkdir d
ln -s d out.json
skrull plan --trace tests/data/cli/good.txt --drop-overlong -o out.json
