mkdir full
unshare -rm sh -c "mount -t tmpfs -o size=64k none full" 2>/dev/null || { echo "cannot mount a tmpfs (no user or mount namespace)"; exit 77; }
unshare -rm sh -c 'mount -t tmpfs -o size=64k none full && { skrull trace convert -o full/out.txt traces/wikipedia.txt.gz; rc=$?; ls -A full; exit $rc; }'
