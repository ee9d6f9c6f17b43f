gzip -dc traces/azure2023_conv.csv.gz | skrull trace stats --field "#2" -
