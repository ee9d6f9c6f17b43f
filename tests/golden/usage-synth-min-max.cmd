skrull trace synth -n 5 --min 900 --max 300 lognormal:800:1.2
