skrull trace synth -n 2000 --seed 19609 cdf:min:32,1K:87.88%,4K:99.34%,8K:99.92%,32K:99.99%,max:78K -o wiki-zh.txt && skrull trace stats wiki-zh.txt
