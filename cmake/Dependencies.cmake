# Finds the libraries every part of the project shares and decides whether CUDA kernels are built.

# LibTorch's CUDA config probes the GPU with a test program unless the architectures are given, and
# that probe fails without a GPU (and with C++20 for CUDA on CMake 3.25). Name them up front.
if(NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST} AND NOT TORCH_CUDA_ARCH_LIST)
  set(TORCH_CUDA_ARCH_LIST "9.0")
endif()
set(CMAKE_CUDA_STANDARD 17)
find_package(Torch REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(Threads REQUIRED)
# utf8proc: NFC normalisation and Unicode categories for the byte-level BPE tokenizer.
find_package(PkgConfig REQUIRED)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)

# LibTorch built with CUDA exports TORCH_CUDA_LIBRARIES (non-empty) and c10_cuda.
set(_dm_torch_has_cuda OFF)
if(TORCH_CUDA_LIBRARIES)
  set(_dm_torch_has_cuda ON)
endif()

set(DM_CUDA_ENABLED OFF)
if(DM_CUDA STREQUAL "AUTO" OR DM_CUDA)
  include(CheckLanguage)
  check_language(CUDA)
  if(_dm_torch_has_cuda AND CMAKE_CUDA_COMPILER)
    set(DM_CUDA_ENABLED ON)
  elseif(NOT DM_CUDA STREQUAL "AUTO")
    message(FATAL_ERROR "DM_CUDA=ON, but LibTorch has CUDA: ${_dm_torch_has_cuda}, nvcc found: '${CMAKE_CUDA_COMPILER}'. "
                        "Install the CUDA toolkit and a CUDA build of LibTorch, or configure with -DDM_CUDA=OFF.")
  endif()
endif()
if(DM_CUDA_ENABLED)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90)
  endif()
  # The kernels' own targets: sm_90 (H100/H200) machine code plus compute_90 PTX, which newer GPUs
  # JIT-compile. Independent of CMAKE_CUDA_ARCHITECTURES so an old cache entry cannot drop sm_90.
  set(DM_CUDA_ARCHITECTURES "90-real;90-virtual" CACHE STRING "CUDA architectures of dm::kernels")
  if(NOT DEFINED CMAKE_CUDA_HOST_COMPILER)
    set(CMAKE_CUDA_HOST_COMPILER ${CMAKE_CXX_COMPILER})
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)
endif()

# One LibTorch precompiled header, built once with dm_core and reused by every torch target.
function(dm_use_torch_pch target)
  target_precompile_headers(${target} REUSE_FROM dm_core)
endfunction()
