skrull trace synth -n 10 cdf:1K:0.9,4K:0.5,max:8K
