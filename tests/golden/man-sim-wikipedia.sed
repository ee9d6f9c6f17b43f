s/^simulation .*/simulation     (time varies)/
