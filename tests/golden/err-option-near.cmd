skrull sim --timline tl.json
