skrull simulate
