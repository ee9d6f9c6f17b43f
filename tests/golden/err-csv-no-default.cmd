skrull trace stats traces/azure2023_conv.csv.gz
