skrull trace synth -n 10 -o out.txt 0.5=lognormal:4K:1 0.5=trace:tests/bad/files/nul.txt
