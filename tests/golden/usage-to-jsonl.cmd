skrull trace convert --to jsonl -o x traces/azure2023_conv.csv.gz
