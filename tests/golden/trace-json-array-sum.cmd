skrull trace convert --field input_length+output_length tests/data/trace/lengths.json
