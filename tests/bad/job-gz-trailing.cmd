skrull show --json job | gzip -c >j.json.gz && printf 'garbage' >>j.json.gz
skrull show job --job j.json.gz
