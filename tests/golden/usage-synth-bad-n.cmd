skrull trace synth -n 12x lognormal:800:1.2
