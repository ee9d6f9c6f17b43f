skrull show job --bucket 26K --json > job.json && skrull show job --job job.json --nodes 2
