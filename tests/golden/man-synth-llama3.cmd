skrull trace synth -n 20000 --seed 7 99.89%=trace:traces/wikipedia.txt.gz 0.11%=lognormal:36K:0.35 -o llama3-mix.npy && skrull trace stats llama3-mix.npy
