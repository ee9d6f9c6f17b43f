skrull trace synth -n 256 --seed 3 --min 8 --max 4096 lognormal:512:1 -o t.txt
mkdir full
unshare -rm sh -c "mount -t tmpfs -o size=32k none full" 2>/dev/null || { echo "cannot mount a tmpfs (no user or mount namespace)"; exit 77; }
unshare -rm sh -c 'mount -t tmpfs -o size=32k none full && head -c 16384 /dev/zero >full/fill && echo old-bucket >full/s-bucket.csv && echo old-batch >full/s-batch.csv && { skrull tune --trace t.txt --nodes 1 --gpus-per-node 2 --global-batch 8 --max-batches 2 --sensitivity full/s >/dev/null; rc=$?; cat full/s-bucket.csv full/s-batch.csv >&2; ls -A full >&2; exit $rc; }'
