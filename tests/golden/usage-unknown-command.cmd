skrull plan
