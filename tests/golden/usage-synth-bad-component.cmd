skrull trace synth -n 5 gamma:2:3
