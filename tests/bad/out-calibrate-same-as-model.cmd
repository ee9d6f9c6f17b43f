skrull show model --json >m.json
skrull calibrate --quick --model m.json -o m.json
