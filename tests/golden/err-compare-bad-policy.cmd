skrull compare --policies deepspeed,fastest
