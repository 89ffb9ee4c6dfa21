#include "common/ml/runtime.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

namespace tontine::ml {
namespace {

using ::testing::HasSubstr;

TEST(RuntimeTest, ConfigureRuntimeSetsThreadsAndReportsTheBlas) {
  const int before = torch::get_num_threads();
  RuntimeReport report = ConfigureRuntime(1);
  EXPECT_EQ(report.threads, 1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  // Debian's LibTorch links libblas.so.3; the report names the file it resolves to.
  ASSERT_FALSE(report.blas_library.empty());
  EXPECT_TRUE(std::filesystem::exists(report.blas_library)) << report.blas_library;
  EXPECT_EQ(report.reference_blas, report.blas_library.find("openblas") == std::string::npos);
  EXPECT_GT(report.gemm_gflops, 0);
  EXPECT_THAT(report.Summary(), HasSubstr("1 threads; BLAS " + report.blas_library));
  EXPECT_THAT(report.Summary(), HasSubstr("GFLOP/s"));
  torch::set_num_threads(before);
}

// Multiplies a million subnormals by one: torch splits the product over its pool, so every
// thread must read them as zero (DAZ) for the result to be all zeros.
int64_t NonzeroProductsOfSubnormals() {
  // Made from its bit pattern, 0x00100000 ≈ 1.5e-39: converting a subnormal literal would
  // already flush it on this thread.
  torch::Tensor subnormals = torch::full({1 << 20}, 0x00100000, torch::kInt32).view(torch::kFloat32);
  return (subnormals * torch::ones_like(subnormals)).count_nonzero().item<int64_t>();
}

TEST(RuntimeTest, SetFlushDenormalAppliesToEveryThreadOfThePool) {
  const int before = torch::get_num_threads();
  torch::set_num_threads(2);
  SetFlushDenormal(false);
  EXPECT_EQ(NonzeroProductsOfSubnormals(), 1 << 20);
  SetFlushDenormal(true);
  EXPECT_EQ(NonzeroProductsOfSubnormals(), 0);
  SetFlushDenormal(false);
  ConfigureRuntime(2);
  EXPECT_EQ(NonzeroProductsOfSubnormals(), 0) << "ConfigureRuntime leaves subnormals on";
  torch::set_num_threads(before);
}

TEST(RuntimeTest, MeasureGemmGflopsIsPositiveAndFinite) {
  const double gflops = MeasureGemmGflops(64, absl::Milliseconds(5));
  EXPECT_GT(gflops, 0);
  EXPECT_LT(gflops, 1e6);
}

}  // namespace
}  // namespace tontine::ml
