#include "common/ml/runtime.h"

#include <dlfcn.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <torch/torch.h>

#include "absl/time/clock.h"

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
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

RuntimeReport ConfigureRuntime(int threads) {
  RuntimeReport report;
  report.threads = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  torch::set_num_threads(report.threads);
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
