skrull trace synth -n 10 -o out.txt lognormal:4K:nan
