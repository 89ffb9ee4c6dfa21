#include "common/ml/runtime.h"

#include <dlfcn.h>
#include <malloc.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include <torch/torch.h>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace tontine::ml {
namespace {

// The file behind the libblas.so.3 this process mapped (the Debian alternative it resolves to).
std::string LoadedBlas() {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    size_t slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    if (absl::StrContains(path, "libblas.so") || absl::StrContains(path, "libopenblas")) {
      std::error_code ec;
      std::filesystem::path real = std::filesystem::canonical(path, ec);
      return ec ? path : real.string();
    }
  }
  return "";
}

std::string OpenBlasCore() {
  using CoreName = char* (*)();
  auto fn = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return fn != nullptr ? fn() : "";
}

// glibc serves every allocation above its mmap threshold (128 KiB, raised dynamically up to
// 32 MiB only after a free) with a fresh mmap, and trims the heap top on free: a training step
// then returns its activations to the kernel and faults them back in, zero-filled, on the next
// step — 37 000 page faults a step for the bundled base, a tenth of the step time. Keeping
// allocations up to 32 MiB (glibc's ceiling for the threshold) on the heap and never trimming
// it reuses the memory from step to step; peak RSS is unchanged, because the same tensors
// are live at the peak either way. (jemalloc or tcmalloc would do as well; this needs no
// dependency.)
void KeepTensorMemory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
}

}  // namespace

std::string RuntimeReport::Summary() const {
  return absl::StrFormat("%d threads; BLAS %s%s; GEMM %.0f GFLOP/s", threads,
                         blas_library.empty() ? "(not found)" : blas_library,
                         openblas_core.empty() ? "" : " (OpenBLAS " + openblas_core + ")",
                         gemm_gflops);
}

double MeasureGemmGflops(int64_t n, absl::Duration budget) {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({n, n}), b = torch::randn({n, n});
  torch::mm(a, b);  // warm-up
  double best = 0;
  absl::Time end = absl::Now() + budget;
  do {
    absl::Time start = absl::Now();
    for (int i = 0; i < 4; ++i) torch::mm(a, b);
    double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    best = std::max(best, 4.0 * 2.0 * n * n * n / seconds / 1e9);
  } while (absl::Now() < end);
  return best;
}

void SetFlushDenormal(bool on) {
  at::globalContext().setFlushDenormal(on);
  // The same OpenMP pool torch's kernels and OpenBLAS run on (libgomp reuses the threads of
  // the outermost team), so that every thread of it gets the bits. This file is compiled with
  // -fopenmp for this region alone.
#pragma omp parallel num_threads(torch::get_num_threads())
  at::globalContext().setFlushDenormal(on);
}

RuntimeReport ConfigureRuntime(int threads) {
  KeepTensorMemory();
  RuntimeReport report;
  report.threads = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  torch::set_num_threads(report.threads);
  SetFlushDenormal(true);
  report.blas_library = LoadedBlas();
  report.openblas_core = OpenBlasCore();
  report.reference_blas =
      !report.blas_library.empty() && !absl::StrContains(report.blas_library, "openblas");
  report.gemm_gflops = MeasureGemmGflops(512, absl::Milliseconds(200));
  spdlog::info("runtime: {}", report.Summary());
  if (report.reference_blas) {
    spdlog::warn("the reference BLAS ({}) is loaded: training will be several times slower; "
                 "install libopenblas0-openmp (scripts/setup does)", report.blas_library);
  }
  return report;
}

}  // namespace tontine::ml
