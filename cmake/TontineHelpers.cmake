# Build helpers in the manner of abseil's absl_cc_library: every folder declares one library
# with its files listed explicitly, and tests register through tontine_cc_test.

# Warnings for our own code only; generated and third-party code is compiled without -Werror.
function(tontine_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wno-missing-field-initializers)
endfunction()

# tontine_cc_library(NAME name SRCS a.cc ... [DEPS lib ...] [PUBLIC_DEPS lib ...])
# Creates the static library `tontine_<name>`. The include root is the source root, so
# headers are included as "common/base/status.h".
function(tontine_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS;PUBLIC_DEPS" ${ARGN})
  set(target tontine_${ARG_NAME})
  add_library(${target} STATIC ${ARG_SRCS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_DEPS})
  tontine_set_warnings(${target})
endfunction()

# tontine_cc_binary(NAME output-name SRCS ... DEPS ...)
function(tontine_cc_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
  tontine_set_warnings(${ARG_NAME})
endfunction()

# tontine_cc_test(NAME name SRCS ... DEPS ... [TIMEOUT seconds] [WHOLE])
# One gtest binary. By default every TEST is its own ctest entry (discovered before the run),
# which lets `ctest -j` spread them over cores. WHOLE registers the binary as one ctest entry,
# for binaries whose start-up is expensive (every LibTorch process pays ~0.7 s).
function(tontine_cc_test)
  cmake_parse_arguments(ARG "WHOLE" "NAME;TIMEOUT" "SRCS;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  # Test programs live apart from the shipped binaries in bin/.
  set_target_properties(${ARG_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/tests)
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} tontine_testing GTest::gmock GTest::gtest_main)
  tontine_set_warnings(${ARG_NAME})
  if(ARG_WHOLE)
    add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
    set_tests_properties(${ARG_NAME} PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  else()
    gtest_discover_tests(${ARG_NAME} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                         PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  endif()
endfunction()
