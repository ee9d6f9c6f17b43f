skrull trace synth -n 10 trace:tests/bad/files/nul.txt -o no-such-dir/t.txt
