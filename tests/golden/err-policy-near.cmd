skrull compare --policies deepspeed,skrul-cp
