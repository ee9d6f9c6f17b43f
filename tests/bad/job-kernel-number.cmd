skrull show job --job tests/bad/files/job-kernel-number.json
