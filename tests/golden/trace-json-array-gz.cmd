gzip -c tests/data/trace/lengths.json >l.json.gz && skrull trace convert --field input_length l.json.gz
