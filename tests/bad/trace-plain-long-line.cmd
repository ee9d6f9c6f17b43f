head -c 200000 /dev/zero | tr "\\000" 7 >long.txt
skrull trace stats long.txt
