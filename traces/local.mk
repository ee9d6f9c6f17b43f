# traces: the bundled length traces and the commands that made the synthetic ones.
# The traces are installed too: `skrull compare` falls back on them.
nobase_dist_pkgdata_DATA = \
	traces/wikipedia.txt.gz traces/mooncake_conversation.jsonl.gz \
	traces/azure2023_conv.csv.gz traces/etalon_sharegpt_8k.csv.gz \
	traces/synth-wikipedia-zh.txt.gz traces/synth-lmsyschat1m.txt.gz \
	traces/synth-chatqa2-long-sft.txt.gz
EXTRA_DIST += traces/README.md traces/synth.cmds
