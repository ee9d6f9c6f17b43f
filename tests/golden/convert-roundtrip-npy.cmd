skrull trace convert tests/data/cli/good.txt -o a.npy && skrull trace convert a.npy -o b.csv.gz && gzip -dc b.csv.gz
