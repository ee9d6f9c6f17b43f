skrull tune --max-dropped 5%
