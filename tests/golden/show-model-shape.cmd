skrull show model --hidden 64 --layers 3 --heads 4 --kv-heads 2 --ffn 160 --vocab 1000
