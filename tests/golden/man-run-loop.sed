s/^iteration .*/iteration      (time varies)/
s/^throughput .*/throughput     (time varies)/
s/^rank time .*/rank time      (time varies)/
