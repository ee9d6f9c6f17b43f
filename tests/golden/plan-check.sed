s/^reading .*/reading          (time varies)/
