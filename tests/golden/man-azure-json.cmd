skrull trace stats --json --field ContextTokens+GeneratedTokens traces/azure2023_conv.csv.gz
