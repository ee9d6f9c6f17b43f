mkfifo f
(cat tests/bad/files/more.idx >f &)
skrull trace stats f
