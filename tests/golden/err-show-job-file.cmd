skrull show job --job tests/data/job/mismatch.json
