skrull calibrate --max-len 0 -o out.json
