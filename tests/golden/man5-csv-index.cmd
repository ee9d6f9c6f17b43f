skrull trace stats --field '#3' traces/etalon_sharegpt_8k.csv.gz
