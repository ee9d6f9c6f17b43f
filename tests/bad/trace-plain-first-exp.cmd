skrull plan --trace tests/bad/files/first-exp.txt -o plan.json
