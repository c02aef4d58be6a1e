# Embeds files in the binary: writes OUTPUT, a C++ file that defines, for
# each NAME=FILE of ASSETS (separated by "|"), `std::string_view NAME()`
# returning FILE's bytes. agent/CMakeLists.txt runs it at build time
# (cmake -P), again whenever a FILE changes.
#
#   cmake -DOUTPUT=x.cc -DHEADER=runtime/x.h -DASSETS="A=a.html|B=b.js" -P
string(REPLACE "|" ";" assets "${ASSETS}")
string(REPEAT "[0-9a-f]" 32 sixteen)
set(arrays "")
set(functions "")
foreach(asset IN LISTS assets)
  if(NOT asset MATCHES "^([A-Za-z0-9_]+)=(.+)$")
    message(FATAL_ERROR "embed_assets: '${asset}' is not NAME=FILE")
  endif()
  set(name "${CMAKE_MATCH_1}")
  set(file "${CMAKE_MATCH_2}")
  file(READ "${file}" hex HEX)
  if(hex STREQUAL "")
    message(FATAL_ERROR "embed_assets: ${file} is empty")
  endif()
  # Sixteen bytes a line: "0x3c, 0x21, ..."
  string(REGEX REPLACE "(${sixteen})" "\\1\n    " bytes "${hex}")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1, " bytes "${bytes}")
  string(REPLACE ", \n" ",\n" bytes "${bytes}")
  string(STRIP "${bytes}" bytes)
  get_filename_component(base "${file}" NAME)
  string(APPEND arrays
         "// ${base}\nconstexpr unsigned char k${name}[] = {\n    ${bytes}};\n")
  string(APPEND functions
         "\nstd::string_view ${name}() {\n"
         "  return {reinterpret_cast<const char*>(k${name}), sizeof(k${name})};\n"
         "}\n")
endforeach()
set(text "// Generated at build time by agent/runtime/embed_assets.cmake: do not edit.
#include \"${HEADER}\"

namespace pgconn {
namespace {

${arrays}
}  // namespace
${functions}
}  // namespace pgconn
")
# Rewritten only when it changes, so that an unchanged asset rebuilds
# nothing.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${text}")
