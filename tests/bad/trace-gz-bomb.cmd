head -c 100000000 /dev/zero | gzip -1 >bomb.txt.gz
(ulimit -d 262144; skrull trace stats bomb.txt.gz)
