skrull -h
