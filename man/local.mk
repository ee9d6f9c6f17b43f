# man: hand-written mdoc pages, linted by tests/manlint.sh.
dist_man_MANS += man/skrull.1 man/skrull-trace.1 man/skrull-trace.5 man/skrull.7
