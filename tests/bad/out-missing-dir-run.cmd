echo '{' >p.json
skrull run --plan p.json -o no-such-dir/r.json
