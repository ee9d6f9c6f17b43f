skrull show job --job tests/data/job/paper-7b.json
