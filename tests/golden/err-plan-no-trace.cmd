skrull plan --bucket 26000
