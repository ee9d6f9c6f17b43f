skrull trace synth -n 300 --seed 5 --min 64 --max 4096 cdf:1K:0.5,max:4K --json -o s.npy
