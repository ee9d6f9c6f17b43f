# sim: the discrete-event simulator (issue 4); nothing is built here yet.
EXTRA_DIST += sim/README.md
