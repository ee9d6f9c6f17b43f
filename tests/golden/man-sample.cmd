skrull trace sample -n 1000 --seed 3 --shuffle traces/etalon_sharegpt_8k.csv.gz -o sample.csv && head -n 4 sample.csv
