skrull trace synth -n 10 -o out.txt cdf:1K:0.5,4K:1.5,max:8K
