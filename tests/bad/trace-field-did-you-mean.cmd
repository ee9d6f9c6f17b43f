skrull trace stats --field input_lenght tests/data/trace/lengths.json
