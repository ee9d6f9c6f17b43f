skrull trace sample -n 2 --seed 12abc -o out.txt tests/data/cli/good.txt
