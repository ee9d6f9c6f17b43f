# cli: the skrull command, one file per command.
bin_PROGRAMS += skrull
skrull_SOURCES = \
	src/cli/main.c src/cli/cli.h src/cli/files.c src/cli/drops.c \
	src/cli/jobopts.c src/cli/jobopts.h \
	src/cli/planopts.c src/cli/planopts.h \
	src/cli/simopts.c src/cli/simopts.h \
	src/cli/progress.c src/cli/progress.h \
	src/cli/shapeopts.c src/cli/shapeopts.h \
	src/cli/cmd_calibrate.c \
	src/cli/cmd_compare.c \
	src/cli/cmd_plan.c \
	src/cli/cmd_report.c \
	src/cli/cmd_run.c \
	src/cli/cmd_show.c \
	src/cli/cmd_sim.c \
	src/cli/cmd_trace.c \
	src/cli/cmd_tune.c
skrull_LDADD = $(SK_MPI_LIBS) $(SK_WORLD_LIBS) $(SK_TUNE_LIBS) $(SK_CORE_LIBS)
skrull_LDFLAGS = $(SK_MODULE_EXPORTS)
