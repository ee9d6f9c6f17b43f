skrull show model --model qwen2.5-7b --json
