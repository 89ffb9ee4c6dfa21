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

TEST(RuntimeTest, MeasureGemmGflopsIsPositiveAndFinite) {
  const double gflops = MeasureGemmGflops(64, absl::Milliseconds(5));
  EXPECT_GT(gflops, 0);
  EXPECT_LT(gflops, 1e6);
}

}  // namespace
}  // namespace tontine::ml
