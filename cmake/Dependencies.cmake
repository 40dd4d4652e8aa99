# Locates the Debian packages steadyeye builds against. scripts/setup.sh installs them.

find_package(Threads REQUIRED)
find_package(Torch REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)
# The demo's scenario files are YAML (a format people edit by hand, with comments).
find_package(yaml-cpp REQUIRED)

# Debian splits OpenCV into per-module -dev packages; only the umbrella libopencv-dev ships a
# CMake config, and it drags in GUI, video and GStreamer stacks we never use. So we find the
# three modules we need directly.
find_path(OPENCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4 REQUIRED)
foreach(module core imgproc imgcodecs)
  find_library(OPENCV_${module}_LIBRARY opencv_${module} REQUIRED)
  add_library(opencv::${module} UNKNOWN IMPORTED)
  set_target_properties(opencv::${module} PROPERTIES
    IMPORTED_LOCATION "${OPENCV_${module}_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${OPENCV_INCLUDE_DIR}")
endforeach()

find_path(SQLITE3_INCLUDE_DIR sqlite3.h REQUIRED)
find_library(SQLITE3_LIBRARY sqlite3 REQUIRED)
add_library(sqlite3::sqlite3 UNKNOWN IMPORTED)
set_target_properties(sqlite3::sqlite3 PROPERTIES
  IMPORTED_LOCATION "${SQLITE3_LIBRARY}" INTERFACE_INCLUDE_DIRECTORIES "${SQLITE3_INCLUDE_DIR}")

# LibTorch is wrapped in one imported target so that only the model module sees its headers.
add_library(seye_torch INTERFACE)
target_include_directories(seye_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
target_link_libraries(seye_torch INTERFACE ${TORCH_LIBRARIES})
separate_arguments(SEYE_TORCH_CXX_FLAGS UNIX_COMMAND "${TORCH_CXX_FLAGS}")
target_compile_options(seye_torch INTERFACE ${SEYE_TORCH_CXX_FLAGS})

# Debian builds cpp-httplib as a shared library (with OpenSSL and zlib); its header declares,
# the library defines. Only a pkg-config file ships.
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
