[ "$(id -u)" != 0 ] || { echo 'root may write a read-only file'; exit 77; }
cp tests/data/cli/good.txt t.txt
echo old >out.txt
chmod 444 out.txt
skrull trace convert -o out.txt t.txt
