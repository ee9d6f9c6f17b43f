skrull show job --model qwen2.5-7b --cp 16 --batch 40 --bucket 13K
