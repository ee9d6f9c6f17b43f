skrull trace convert --json traces/azure2023_conv.csv.gz
