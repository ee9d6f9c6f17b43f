head -c 100000000 /dev/zero | gzip -1 >bomb.json.gz
(ulimit -d 262144; skrull plan --check bomb.json.gz)
