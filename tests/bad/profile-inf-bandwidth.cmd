sed 's/"hbm_bw": 1.675e12/"hbm_bw": 1e999/' tests/data/profile/half-h100.json >bad.json
skrull compare --trace tests/data/cli/good.txt --profile bad.json
