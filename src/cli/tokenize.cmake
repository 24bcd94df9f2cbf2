# `attnsweep tokenize` (src/cli/cmd_tokenize.c); included by src/cli/CMakeLists.txt
target_sources(attnsweep PRIVATE cmd_tokenize.c)
