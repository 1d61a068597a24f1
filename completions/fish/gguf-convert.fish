# fish completion for gguf-convert
complete -c gguf-convert -l outtype -x -a 'f32 f16 bf16 Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_0 Q4_1 Q4_K_S Q4_K_M Q5_0 Q5_1 Q5_K_S Q5_K_M Q6_K Q8_0 IQ4_NL IQ4_XS' -d 'output type or preset'
complete -c gguf-convert -l pre -x -a 'default llama-bpe qwen2 gpt-2 bert-bge starcoder falcon deepseek-llm deepseek-coder smollm tekken' -d 'tokenizer.ggml.pre to write'
complete -c gguf-convert -l name -x -d 'general.name'
complete -c gguf-convert -s t -l threads -x -d 'threads'
complete -c gguf-convert -s V -l version -d 'print version'
complete -c gguf-convert -s h -l help -d 'print usage'
complete -c gguf-convert -k -a '(__fish_complete_directories)'
complete -c gguf-convert -k -a '(__fish_complete_suffix .gguf)'
