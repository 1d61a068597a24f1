# fish completion for gguf-info
complete -c gguf-info -l json -d 'one JSON object per file (JSON-lines)'
complete -c gguf-info -l full -d 'with --json: write long metadata arrays in full'
complete -c gguf-info -l tensors -d 'one JSON-lines record per tensor'
complete -c gguf-info -l hash -d "with --tensors: xxh64 of each tensor's data"
complete -c gguf-info -l kv -x -d 'print one metadata value'
complete -c gguf-info -s V -l version -d 'print version'
complete -c gguf-info -s h -l help -d 'print usage'
complete -c gguf-info -k -a '(__fish_complete_suffix .gguf)'
