[ -c /dev/full ] || { echo 'no /dev/full'; exit 77; }
skrull trace convert -o /dev/full tests/data/cli/good.txt
