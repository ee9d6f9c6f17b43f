sed 's/"version": 1/"version": 3/' tests/data/profile/half-h100.json >v3.json && skrull tune --trace tests/data/cli/good.txt --profile v3.json
