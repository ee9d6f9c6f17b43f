# completion: bash and zsh completion for the skrull command, installed
# where each shell looks under the prefix (bash-completion's per-command
# directory, zsh's site-functions on its fpath).
bashcompdir = $(datadir)/bash-completion/completions
dist_bashcomp_DATA = completion/skrull
zshcompdir = $(datadir)/zsh/site-functions
dist_zshcomp_DATA = completion/_skrull
