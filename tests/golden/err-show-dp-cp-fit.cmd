skrull show job --dp 3 --cp 4
