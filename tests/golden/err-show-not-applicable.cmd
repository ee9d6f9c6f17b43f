skrull show model --cp 8
