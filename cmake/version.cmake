# version.cmake - run at build time (not only at configure time), so that the
# git commit stamped into the binary and into every output file is the one the
# sources were built from. Rewrites version.h only when it changes.
#   -DSRC=<source dir> -DOUT=<version.h> -DTEMPLATE=<version.h.in> -DPROJECT_VERSION=<x.y.z>
execute_process(COMMAND git -C "${SRC}" describe --always --dirty --abbrev=12
                OUTPUT_VARIABLE ATTNSWEEP_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE
                ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT ATTNSWEEP_GIT_COMMIT)
  set(ATTNSWEEP_GIT_COMMIT "unknown")
endif()
configure_file("${TEMPLATE}" "${OUT}.tmp" @ONLY)
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
file(REMOVE "${OUT}.tmp")
