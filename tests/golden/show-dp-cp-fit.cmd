skrull show job --dp 2 --cp 2 --json | jq -c "{dp, cp, nodes: .cluster.nodes, gpn: .cluster.gpus_per_node}" && skrull show job --dp 2 --cp 8 --json | jq -c "{dp, cp, nodes: .cluster.nodes}"
