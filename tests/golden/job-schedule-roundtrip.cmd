skrull show job --job tests/data/job/schedule.json --json > a.json && skrull show job --job a.json --json > b.json && cmp a.json b.json && sed -n '/"bucket"/,$p' b.json
