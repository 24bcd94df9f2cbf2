# `attnsweep reduce` (src/cli/cmd_reduce.c); included by src/cli/CMakeLists.txt
target_sources(attnsweep PRIVATE cmd_reduce.c)
