#include "common/base/cpu.h"

#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace tontine {

CpuFeatures DetectCpu() {
  __builtin_cpu_init();
  CpuFeatures cpu;
  cpu.avx2 = __builtin_cpu_supports("avx2");
  cpu.fma = __builtin_cpu_supports("fma");
  cpu.avx512f = __builtin_cpu_supports("avx512f");
  cpu.aes = __builtin_cpu_supports("aes");
  return cpu;
}

std::string OpenBlasCoreTypeFor(const CpuFeatures& cpu) {
  if (cpu.avx512f) return "SkylakeX";
  if (cpu.avx2 && cpu.fma) return "Haswell";
  return "";
}

void EnsureOpenBlasCoreType(int argc, char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
  if (std::getenv("TONTINE_BLAS_REEXEC") != nullptr) return;
  std::string core = OpenBlasCoreTypeFor(DetectCpu());
  if (core.empty()) return;
  setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  setenv("TONTINE_BLAS_REEXEC", "1", 1);
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  execv("/proc/self/exe", args.data());
  // exec failed: carry on with whatever OpenBLAS chose.
}

}  // namespace tontine
