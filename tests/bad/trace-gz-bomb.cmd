head -c 100000000 /dev/zero | gzip -1 >bomb.txt.gz
if (ulimit -d 262144 && skrull --version; r=$?; exit $r) >/dev/null 2>&1; then (ulimit -d 262144; skrull trace stats bomb.txt.gz); else skrull trace stats bomb.txt.gz; fi
