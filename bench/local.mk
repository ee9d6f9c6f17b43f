# bench: benchmarks, run by hand (not by make check); see README.md.
EXTRA_DIST += bench/trace-stats.sh
