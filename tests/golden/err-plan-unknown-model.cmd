skrull plan --trace traces/wikipedia.txt.gz --model qwen9-1t
