cp tests/data/cli/good.txt t.txt
skrull trace synth -n 10 trace:t.txt -o t.txt
