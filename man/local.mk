# man: hand-written mdoc pages, linted by tests/manlint.sh.
dist_man_MANS += man/skrull.1 man/skrull-trace.1 man/skrull-trace.5 man/skrull.7 \
	man/skrull-plan.1 man/skrull-plan.5 man/skrull-show.1 man/skrull-job.5 \
	man/skrull-sim.1 man/skrull-compare.1 man/skrull-tune.1 man/skrull-report.1 man/skrull-run.1 \
	man/skrull-calibrate.1 man/skrull-profile.5 \
	man/libskrull.3 man/skrull_job.3 man/skrull_plan.3 man/skrull_report.3
