# bench_tokenizer: tokenizer throughput and 1 KB -> 1 MB scaling (included from bench/CMakeLists.txt).
add_executable(bench_tokenizer "${CMAKE_CURRENT_LIST_DIR}/bench_tokenizer.c")
target_link_libraries(bench_tokenizer PRIVATE attnsweep_core)
target_compile_definitions(bench_tokenizer PRIVATE
  ATTNSWEEP_BENCH_DATA_DIR="${ATTNSWEEP_DATA_DIR}")
