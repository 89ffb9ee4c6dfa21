// What this CPU offers, and the OpenBLAS set-up that depends on it (DESIGN.md §3).
//
// OpenBLAS 0.3.21 (Debian 12) reads OPENBLAS_CORETYPE before main() and misdetects recent
// Xeons, falling back to SSE3 kernels (5–35× slower). A binary that trains calls
// EnsureOpenBlasCoreType first thing in main(): when the variable is unset it chooses the core
// type from CPUID and re-executes itself once so that OpenBLAS sees it.
#ifndef TONTINE_COMMON_BASE_CPU_H_
#define TONTINE_COMMON_BASE_CPU_H_

#include <string>

namespace tontine {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool aes = false;  // AES-NI, for the SecAgg PRG choice
};

CpuFeatures DetectCpu();

// "SkylakeX" with AVX-512F, "Haswell" with AVX2 and FMA, "" otherwise (let OpenBLAS decide).
std::string OpenBlasCoreTypeFor(const CpuFeatures& cpu);

// If OPENBLAS_CORETYPE is unset and the CPU calls for one, sets it and re-executes
// /proc/self/exe with the same arguments. Guarded by TONTINE_BLAS_REEXEC so it happens at
// most once; returns (continuing without re-exec) if the variable is already set, no core
// type is wanted, or exec fails.
void EnsureOpenBlasCoreType(int argc, char** argv);

}  // namespace tontine

#endif  // TONTINE_COMMON_BASE_CPU_H_
