printf '{"format":"skrull-plan","version":2}' >v2.json && skrull plan --check v2.json
