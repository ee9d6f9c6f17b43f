skrull trace sample -n 2 --field length -o out.csv tests/bad/files/short-row.csv
