skrull trace stats --field prompt_tokens traces/azure2023_conv.csv.gz
