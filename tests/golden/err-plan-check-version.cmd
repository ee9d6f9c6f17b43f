printf '{"format":"skrull-plan","version":3}' >v3.json && skrull plan --check v3.json
