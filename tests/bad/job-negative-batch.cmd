skrull show job --job tests/bad/files/job-negative.json
