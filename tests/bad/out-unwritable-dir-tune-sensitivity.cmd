if [ "$(id -u)" = 0 ]; then ln -s /sys ro; else mkdir ro; chmod 555 ro; fi
skrull tune --trace tests/bad/files/nul.txt --nodes 1 --gpus-per-node 2 --global-batch 8 --sensitivity ro
