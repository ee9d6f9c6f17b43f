s/^planning .*/planning         (time varies)/
