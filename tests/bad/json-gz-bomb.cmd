head -c 100000000 /dev/zero | gzip -1 >bomb.json.gz
if (ulimit -d 262144 && skrull --version; r=$?; exit $r) >/dev/null 2>&1; then (ulimit -d 262144; skrull plan --check bomb.json.gz); else skrull plan --check bomb.json.gz; fi
