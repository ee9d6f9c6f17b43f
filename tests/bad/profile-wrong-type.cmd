sed 's/"gemm_half": 128/"gemm_half": "128"/' tests/data/profile/half-h100.json >bad.json
skrull tune --trace tests/data/cli/good.txt --profile bad.json -o out.json
