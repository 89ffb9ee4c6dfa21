// LibTorch's runtime set-up for a process that trains (DESIGN.md §3): explicit thread
// count, the BLAS actually loaded, and a quick GEMM figure to log at start-up.
// Pair with EnsureOpenBlasCoreType (common/base/cpu.h) at the top of main().
#ifndef TONTINE_COMMON_ML_RUNTIME_H_
#define TONTINE_COMMON_ML_RUNTIME_H_

#include <string>

#include "absl/time/time.h"

namespace tontine::ml {

struct RuntimeReport {
  int threads = 0;
  std::string blas_library;   // resolved path of the loaded libblas.so.3
  std::string openblas_core;  // OpenBLAS's kernel choice, "" if not OpenBLAS
  bool reference_blas = false;
  double gemm_gflops = 0;     // fp32 GEMM, n = 512, on `threads` threads
  std::string Summary() const;
};

// Sets torch's intra-op threads (0 = every core), inspects the BLAS and measures a GEMM.
// Flushes subnormals (SetFlushDenormal) and keeps freed tensor memory in the heap for the next
// step (glibc mallopt). Logs the summary, and a warning when the reference BLAS is loaded (training would be
// several times slower: install libopenblas0-openmp).
RuntimeReport ConfigureRuntime(int threads);

// Subnormal floats take a slow microcode path on x86 (tens of times slower per operation).
// They appear as training goes on — AdamW's second moments and small gradients decay towards
// zero — and halved the bundled pretrain's speed by its end. With `on`, they are flushed to
// zero and read as zero (MXCSR FTZ/DAZ), which costs nothing in accuracy at fp32 training
// scales. The bits are per thread: this sets them on the calling thread and on every thread of
// torch's OpenMP pool (torch::get_num_threads() of them). ConfigureRuntime turns it on.
void SetFlushDenormal(bool on);

// fp32 n×n GEMM throughput with torch::mm, best of repeated runs within `budget`.
double MeasureGemmGflops(int64_t n, absl::Duration budget);

}  // namespace tontine::ml

#endif  // TONTINE_COMMON_ML_RUNTIME_H_
