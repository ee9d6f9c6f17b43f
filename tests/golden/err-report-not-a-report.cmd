skrull report diff tests/data/cli/good.txt tests/data/cli/good.txt
