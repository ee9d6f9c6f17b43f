skrull show cluster --cluster h200 --nodes 2
