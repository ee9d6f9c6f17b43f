skrull tune --trace tests/bad/files/nul.txt --nodes 1 --gpus-per-node 2 --global-batch 8 --sensitivity no-such-dir/
