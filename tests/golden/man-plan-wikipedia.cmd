skrull plan --trace traces/wikipedia.txt.gz --bucket 26000 --drop-overlong -o plan.json
