// Runs the CUDA kernels of this folder on the CPU, for tests on machines without a GPU: each block's threads
// are std::threads meeting at a std::barrier (__syncthreads), __shared__ is a function-static shared by the
// block (blocks run one after another), warp shuffles go through the block, atomics are std::atomic_ref.
// It checks the kernels' indexing, synchronisation structure and arithmetic, not the GPU's memory model.
#pragma once

#ifndef DM_KERNELS_HOST_EMULATION
#define DM_KERNELS_HOST_EMULATION 1
#endif

#include <atomic>
#include <barrier>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__
#define __shared__ static
#define __align__(n) alignas(n)

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};

inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

namespace dm::emu {

struct Block {
  std::barrier<> barrier;
  std::vector<float> scratch;  // one slot per thread, for shuffles
  explicit Block(unsigned n) : barrier(static_cast<std::ptrdiff_t>(n)), scratch(n) {}
};
inline thread_local Block* current = nullptr;

inline unsigned linear_tid() { return threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z); }

// Worker threads kept across launches (creating 256 threads per block dominated the run time).
class Pool {
 public:
  static Pool& instance() {
    static Pool pool;
    return pool;
  }
  // Runs f(0) … f(n − 1) on n threads at once (they may wait for each other) and returns when all are done.
  void run(unsigned n, const std::function<void(unsigned)>& f) {
    std::unique_lock lock(mutex_);
    while (workers_.size() < n) {
      const unsigned i = static_cast<unsigned>(workers_.size());
      workers_.emplace_back([this, i] { work(i); });
    }
    job_ = &f;
    active_ = n;
    remaining_ = n;
    ++generation_;
    start_.notify_all();
    done_.wait(lock, [&] { return remaining_ == 0; });
    job_ = nullptr;
  }
  ~Pool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    start_.notify_all();
    for (auto& w : workers_) w.join();
  }

 private:
  void work(unsigned i) {
    uint64_t seen = 0;
    std::unique_lock lock(mutex_);
    for (;;) {
      start_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (i >= active_) continue;
      const auto* f = job_;
      lock.unlock();
      (*f)(i);
      lock.lock();
      if (--remaining_ == 0) done_.notify_one();
    }
  }
  std::mutex mutex_;
  std::condition_variable start_, done_;
  std::vector<std::thread> workers_;
  const std::function<void(unsigned)>* job_ = nullptr;
  unsigned active_ = 0, remaining_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

template <typename K>
struct Launch {
  dim3 grid, block;
  K* kernel;
  Launch(dim3 g, dim3 b, K* k, void* /*stream: the emulation runs in order*/) : grid(g), block(b), kernel(k) {}
  template <typename... A>
  void operator()(A... args) const {
    const unsigned n = block.x * block.y * block.z;
    for (unsigned bz = 0; bz < grid.z; ++bz)
      for (unsigned by = 0; by < grid.y; ++by)
        for (unsigned bx = 0; bx < grid.x; ++bx) {
          Block blk(n);
          Pool::instance().run(n, [&](unsigned t) {
            current = &blk;
            blockIdx = dim3(bx, by, bz);
            gridDim = grid;
            blockDim = block;
            threadIdx = dim3(t % block.x, (t / block.x) % block.y, t / (block.x * block.y));
            kernel(args...);
            blk.barrier.arrive_and_drop();  // an exited thread no longer counts at barriers
          });
        }
  }
};
template <typename K>
Launch(dim3, dim3, K*, void*) -> Launch<K>;

}  // namespace dm::emu

inline void __syncthreads() { dm::emu::current->barrier.arrive_and_wait(); }

// Every live thread of the block must call it (true of the kernels here: whole warps call or leave).
inline float __shfl_xor_sync(unsigned, float v, int lane_mask) {
  auto* b = dm::emu::current;
  const unsigned t = dm::emu::linear_tid();
  b->scratch[t] = v;
  b->barrier.arrive_and_wait();
  const float r = b->scratch[t ^ static_cast<unsigned>(lane_mask)];
  b->barrier.arrive_and_wait();
  return r;
}

inline float atomicAdd(float* p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }
inline float rsqrtf(float v) { return 1.f / std::sqrt(v); }

// bfloat16 with round-to-nearest-even, bit-compatible with CUDA's and LibTorch's.
struct __nv_bfloat16 {
  uint16_t bits;
};
inline float __bfloat162float(__nv_bfloat16 v) {
  const uint32_t u = static_cast<uint32_t>(v.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline __nv_bfloat16 __float2bfloat16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if (std::isnan(f)) return {0x7fc0};
  u += 0x7fffu + ((u >> 16) & 1u);
  return {static_cast<uint16_t>(u >> 16)};
}

// The runtime calls the launchers make, over host memory.
using cudaStream_t = void*;
enum cudaError_t { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorInvalidConfiguration = 9 };
enum cudaMemcpyKind { cudaMemcpyDeviceToDevice = 3 };
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline const char* cudaGetErrorString(cudaError_t e) {
  return e == cudaSuccess ? "no error" : e == cudaErrorInvalidValue ? "invalid argument" : "invalid configuration";
}
inline cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t) {
  std::memset(p, v, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind, cudaStream_t) {
  std::memcpy(d, s, n);
  return cudaSuccess;
}

// nvcuda::wmma for 16 × 16 × 16 bf16 products with fp32 accumulation. A fragment holds the whole 16 × 16
// block; lane 0 of each warp does the warp's work (the others hold no values and store nothing).
namespace nvcuda::wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
  float v[M * N] = {};
};

inline bool lane0() { return dm::emu::linear_tid() % 32 == 0; }

template <typename Use, typename Layout>
void load_matrix_sync(fragment<Use, 16, 16, 16, __nv_bfloat16, Layout>& f, const __nv_bfloat16* p, unsigned ldm) {
  if (!lane0()) return;
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      f.v[r * 16 + c] = __bfloat162float(std::is_same_v<Layout, row_major> ? p[r * ldm + c] : p[c * ldm + r]);
}
inline void fill_fragment(fragment<accumulator, 16, 16, 16, float>& f, float x) {
  for (auto& e : f.v) e = x;
}
template <typename LA, typename LB>
void mma_sync(fragment<accumulator, 16, 16, 16, float>& d, const fragment<matrix_a, 16, 16, 16, __nv_bfloat16, LA>& a,
              const fragment<matrix_b, 16, 16, 16, __nv_bfloat16, LB>& b,
              const fragment<accumulator, 16, 16, 16, float>& c) {
  if (!lane0()) return;
  float out[256];
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 16; ++j) {
      float acc = c.v[i * 16 + j];
      for (int k = 0; k < 16; ++k) acc += a.v[i * 16 + k] * b.v[k * 16 + j];
      out[i * 16 + j] = acc;
    }
  std::memcpy(d.v, out, sizeof out);
}
inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 16, float>& f, unsigned ldm, layout_t l) {
  if (!lane0()) return;
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c) (l == mem_row_major ? p[r * ldm + c] : p[c * ldm + r]) = f.v[r * 16 + c];
}
}  // namespace nvcuda::wmma
