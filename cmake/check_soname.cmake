# cmake -D READELF=readelf -D LIBRARY=path/to/libvecstore.so.x.y.z -D SONAME=libvecstore.so.N -P check_soname.cmake
#
# The SONAME cargo linked into the library (build.rs) must be the name CMake
# stages and installs it under (VECSTORE_SONAME), or programs linked against
# it would look for a file that is not there.
execute_process(COMMAND "${READELF}" -d "${LIBRARY}"
                OUTPUT_VARIABLE dynamic RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "check_soname: ${READELF} -d ${LIBRARY} failed (${rc})")
endif()
if(NOT dynamic MATCHES "\\(SONAME\\)[^\n]*\\[([^]\n]*)\\]")
  message(FATAL_ERROR "check_soname: ${LIBRARY} has no SONAME")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL SONAME)
  message(FATAL_ERROR "check_soname: ${LIBRARY} has SONAME ${CMAKE_MATCH_1}, expected ${SONAME}")
endif()
message(STATUS "check_soname: ${LIBRARY}: SONAME ${SONAME}")
