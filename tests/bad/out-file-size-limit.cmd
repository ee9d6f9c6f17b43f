ulimit -f 64 2>/dev/null || { echo 'no ulimit -f'; exit 77; }
ulimit -f 64; skrull trace convert -o out.txt traces/wikipedia.txt.gz
