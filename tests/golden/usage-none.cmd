skrull
