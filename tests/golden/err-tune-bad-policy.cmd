skrull tune --policies skrull,fastest
