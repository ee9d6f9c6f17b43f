skrull tune --max-dropped 101
