skrull trace convert -o $(printf %0300d 0).txt tests/data/cli/good.txt
