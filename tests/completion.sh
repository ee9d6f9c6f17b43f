#!/bin/sh
# completion.sh: the bash and zsh completions offer what skrull has:
# commands, trace's subcommands, a command's options (from its -h, the
# --[no-]KNOB forms both), the policies, presets, and a --policies list's
# last element.  bash runs the completion function itself on set words;
# zsh runs its function with compadd and _files replaced by ones that
# print their candidates.
. "${top_srcdir:-.}/tests/tap.sh"

comp="$top_srcdir/completion"
# the expected lists below are in the C locale's order
LC_ALL=C
export LC_ALL

# bash_complete WORD...: the candidates for the last word, sorted, on one line.
bash_complete() {
	bash -c '. "$1/skrull"; shift; COMP_WORDS=("$@");
	    COMP_CWORD=$(($# - 1)); _skrull;
	    printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$comp" "$@"
}

# expect WANT GOT NAME
expect() {
	[ "$2" = "$1" ] || printf 'want: %s\ngot:  %s\n' "$1" "$2" | tap_diag
	[ "$2" = "$1" ]
	tap_check $? "$3"
}

if ! command -v bash >/dev/null; then
	tap_check 1 "bash not installed"
else
	expect "trace " "$(bash_complete "$SKRULL" tr)" "bash: a command"
	expect "calibrate compare " "$(bash_complete "$SKRULL" c)" \
	    "bash: the commands starting with c"
	expect "sample stats synth " "$(bash_complete "$SKRULL" trace s)" \
	    "bash: trace's subcommands"
	expect "--timeline --timeline-iters --timeline-max-events " \
	    "$(bash_complete "$SKRULL" sim --timel)" "bash: sim's options"
	expect "--no-rollback " "$(bash_complete "$SKRULL" plan --no-rol)" \
	    "bash: a knob's --no- form"
	expect "skrull skrull-cp skrull-paper " \
	    "$(bash_complete "$SKRULL" plan --policy skr)" "bash: policies"
	expect "deepspeed,skrull deepspeed,skrull-cp deepspeed,skrull-paper " \
	    "$(bash_complete "$SKRULL" compare --policies deepspeed,skr)" \
	    "bash: the last element of --policies"
	expect "Qwen2.5-72B Qwen2.5-7B " \
	    "$(bash_complete "$SKRULL" plan --model Qwen2.5-7)" "bash: models"
	expect "H200-141GB " "$(bash_complete "$SKRULL" show --cluster H2)" \
	    "bash: clusters"
fi

# zsh_complete WORD...: as bash_complete, under zsh.
zsh_complete() {
	zsh -f -c 'compadd() { if [[ $1 == -a ]]; then print -rl -- ${(P)2};
	    else print -rl -- "$@"; fi }; _files() { print -r -- FILES };
	    compset() { return 1 };
	    comp=$1; shift; words=("$@"); CURRENT=$#;
	    . "$comp/_skrull" | sort | tr "\n" " "' _ "$comp" "$@"
}

if ! command -v zsh >/dev/null; then
	tap_check 1 "zsh not installed"
else
	zsh -n "$comp/_skrull"
	tap_check $? "zsh: _skrull parses"
	expect "calibrate compare " "$(zsh_complete "$SKRULL" c | tr ' ' '\n' |
	    grep '^c' | tr '\n' ' ')" "zsh: the commands starting with c"
	expect "convert sample stats synth " \
	    "$(zsh_complete "$SKRULL" trace s)" "zsh: trace's subcommands"
	expect "yes" "$(zsh_complete "$SKRULL" sim --timel | tr ' ' '\n' |
	    grep -qx -- --timeline-iters && echo yes)" "zsh: sim's options"
	expect "yes" "$(zsh_complete "$SKRULL" plan --policy s | tr ' ' '\n' |
	    grep -qx skrull-cp && echo yes)" "zsh: policies"
	expect "FILES " "$(zsh_complete "$SKRULL" plan --trace tr)" \
	    "zsh: a file elsewhere"
fi
tap_done
