if [ "$(id -u)" = 0 ]; then ln -s /sys ro; else mkdir ro; chmod 555 ro; fi
skrull plan --trace tests/data/cli/good.txt --drop-overlong -o ro/out.json
