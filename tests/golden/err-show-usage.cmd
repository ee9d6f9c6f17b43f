skrull show
