skrull trace convert -o out.txt tests/bad/files/header-only.csv
