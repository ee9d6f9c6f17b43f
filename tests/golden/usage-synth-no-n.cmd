skrull trace synth lognormal:800:1.2
