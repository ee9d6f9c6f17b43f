sed 's/"gemm_max": 0.80/"gemm_max": 1.25/' tests/data/profile/half-h100.json >big.json && skrull plan --trace tests/data/cli/good.txt --profile big.json
