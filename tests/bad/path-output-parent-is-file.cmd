echo x >file
skrull sim --trace tests/data/cli/good.txt --drop-overlong --timeline file/out.json
