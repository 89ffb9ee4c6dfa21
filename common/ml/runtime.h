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
// Logs the summary, and a warning when the reference BLAS is loaded (training would be
// several times slower: install libopenblas0-openmp).
RuntimeReport ConfigureRuntime(int threads);

// fp32 n×n GEMM throughput with torch::mm, best of repeated runs within `budget`.
double MeasureGemmGflops(int64_t n, absl::Duration budget);

}  // namespace tontine::ml

#endif  // TONTINE_COMMON_ML_RUNTIME_H_
