# fish completion for llm-perplexity
complete -c llm-perplexity -s m -l model -r -d 'model (GGUF)'
complete -c llm-perplexity -s f -l file -r -d 'text file'
complete -c llm-perplexity -s c -l ctx-size -x -d 'tokens per chunk'
complete -c llm-perplexity -l chunks -x -d 'at most this many chunks'
complete -c llm-perplexity -l base -r -d 'reference model'
complete -c llm-perplexity -s t -l threads -x -d 'threads'
complete -c llm-perplexity -s V -l version -d 'print version'
complete -c llm-perplexity -s h -l help -d 'print usage'
