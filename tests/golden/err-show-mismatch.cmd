skrull show job --dp 4 --cp 4 --nodes 4
