printf '[347,\n10919,\n' | gzip >cut.json.gz
skrull trace stats cut.json.gz
