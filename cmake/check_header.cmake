# cmake -D HEADER=path/to/vecstore.h [-D EXPECTED_VERSION=x.y.z] -P check_header.cmake
#
# Textual header-hygiene rules from the C API contract that a compiler does not
# enforce: no function-like macros, no bitfields, an include guard, named
# typedef'd enums, every contract function declared, and version macros that
# agree with Cargo.toml.
if(NOT DEFINED HEADER OR NOT EXISTS "${HEADER}")
  message(FATAL_ERROR "check_header: HEADER not set or missing: '${HEADER}'")
endif()
file(READ "${HEADER}" text)
set(errors "")

# Function-like macros (`#define NAME(`) are unusable from cgo/Zig/Swift.
string(REGEX MATCHALL "#[ \t]*define[ \t]+[A-Za-z_][A-Za-z0-9_]*\\(" fmacros "${text}")
if(fmacros)
  list(APPEND errors "function-like macros: ${fmacros}")
endif()

# Bitfields: `type name : N;`
string(REGEX MATCHALL "[A-Za-z_][A-Za-z0-9_]*[ \t]*:[ \t]*[0-9]+[ \t]*;" bitfields "${text}")
if(bitfields)
  list(APPEND errors "bitfields: ${bitfields}")
endif()

# Include guard or #pragma once.
if(NOT text MATCHES "#[ \t]*pragma[ \t]+once" AND
   NOT text MATCHES "#[ \t]*ifndef[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t\r]*\n[ \t]*#[ \t]*define[ \t]+")
  list(APPEND errors "no include guard")
endif()

# C linkage for C++.
if(NOT text MATCHES "extern \"C\"")
  list(APPEND errors "no extern \"C\" block for C++")
endif()

foreach(e vecstore_status vecstore_durability vecstore_metric)
  if(NOT text MATCHES "typedef[ \t\r\n]+enum[ \t\r\n]+${e}[ \t\r\n]*{")
    list(APPEND errors "enum ${e} is not a named typedef'd enum (`typedef enum ${e} {...} ${e};`)")
  endif()
endforeach()
foreach(pair "vecstore_store;vecstore_t" "vecstore_guard;vecstore_guard_t" "vecstore_cursor;vecstore_cursor_t")
  list(GET pair 0 tag)
  list(GET pair 1 name)
  if(NOT text MATCHES "typedef[ \t\r\n]+struct[ \t\r\n]+${tag}[ \t\r\n]+${name}[ \t\r\n]*;")
    list(APPEND errors "missing `typedef struct ${tag} ${name};`")
  endif()
endforeach()
# No tag or typedef named `vecstore`: a C++ program may have a `namespace vecstore`.
if(text MATCHES "(struct|enum)[ \t\r\n]+vecstore[ \t\r\n;{]" OR text MATCHES "[ \t\r\n]vecstore;")
  list(APPEND errors "a tag or typedef named `vecstore` (clashes with a C++ namespace vecstore)")
endif()
foreach(t vecstore_options vecstore_stats)
  if(NOT text MATCHES "}[ \t\r\n]*${t}[ \t]*;")
    list(APPEND errors "missing typedef struct ${t}")
  endif()
endforeach()

set(functions
  vecstore_version vecstore_version_number vecstore_status_str vecstore_last_error
  vecstore_options_default vecstore_options_init vecstore_open vecstore_close vecstore_put vecstore_put_batch
  vecstore_delete vecstore_delete_batch vecstore_get vecstore_get_batch vecstore_contains
  vecstore_len vecstore_dimension vecstore_get_ref vecstore_guard_data vecstore_guard_len
  vecstore_guard_id vecstore_guard_release vecstore_cursor_open vecstore_cursor_next
  vecstore_cursor_close vecstore_flush vecstore_checkpoint vecstore_set_durability
  vecstore_reserve vecstore_compact vecstore_copy vecstore_stats_get vecstore_search
  vecstore_search_batch vecstore_search_filter vecstore_search_ids vecstore_search_by_id
  vecstore_set_search_threads)
foreach(f ${functions})
  if(NOT text MATCHES "[ *\t\r\n]${f}[ \t]*\\(")
    list(APPEND errors "function ${f} not declared")
  endif()
endforeach()

foreach(part MAJOR MINOR PATCH NUMBER)
  if(text MATCHES "#[ \t]*define[ \t]+VECSTORE_VERSION_${part}[ \t]+\\(?([0-9]+)[uU]?\\)?")
    set(v_${part} "${CMAKE_MATCH_1}")
  else()
    list(APPEND errors "VECSTORE_VERSION_${part} is not defined as an integer literal")
  endif()
endforeach()
if(DEFINED v_MAJOR AND DEFINED v_MINOR AND DEFINED v_PATCH AND DEFINED v_NUMBER)
  math(EXPR number "${v_MAJOR} * 1000000 + ${v_MINOR} * 1000 + ${v_PATCH}")
  if(NOT number EQUAL v_NUMBER)
    list(APPEND errors "VECSTORE_VERSION_NUMBER ${v_NUMBER} != MAJOR*1000000+MINOR*1000+PATCH = ${number}")
  endif()
  if(DEFINED EXPECTED_VERSION AND NOT "${v_MAJOR}.${v_MINOR}.${v_PATCH}" STREQUAL "${EXPECTED_VERSION}")
    list(APPEND errors "header version ${v_MAJOR}.${v_MINOR}.${v_PATCH} != Cargo.toml version ${EXPECTED_VERSION}")
  endif()
endif()

if(errors)
  list(JOIN errors "\n  " msg)
  message(FATAL_ERROR "check_header: ${HEADER} breaks the contract's hygiene rules:\n  ${msg}")
endif()
message(STATUS "check_header: ${HEADER} OK")
