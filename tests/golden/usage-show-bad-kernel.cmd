skrull show job --model qwen2.5-7b --kernels fused-swiglu,fused-gelu
