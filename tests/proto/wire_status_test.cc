#include "proto/wire_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tontine {
namespace {

TEST(WireStatusTest, ErrorDetailSurvivesTheTripThroughGrpc) {
  v1::ErrorDetail detail;
  detail.set_reason("WRONG_PHASE");
  detail.set_round_id(42);
  detail.set_phase(v1::ROUND_PHASE_UNMASK);
  detail.set_retry_after_ms(1500);
  absl::Status original = WithErrorDetail(absl::FailedPreconditionError("late"), detail);

  grpc::Status wire = ToGrpcStatus(original);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(wire.error_message(), "late");

  absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(back.message(), "late");
  std::optional<v1::ErrorDetail> got = GetErrorDetail(back);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->reason(), "WRONG_PHASE");
  EXPECT_EQ(got->round_id(), 42u);
  EXPECT_EQ(got->phase(), v1::ROUND_PHASE_UNMASK);
  EXPECT_EQ(got->retry_after_ms(), 1500u);
}

TEST(WireStatusTest, DetailsAreWireCompatibleWithGoogleRpcStatus) {
  // google.rpc.Status: code = 1 (int32), message = 2 (string), details = 3 (Any).
  absl::Status s = WithReason(absl::DataLossError("bad tag"), "SHARE_AUTH");
  v1::RpcStatus rpc;
  ASSERT_TRUE(rpc.ParseFromString(ToGrpcStatus(s).error_details()));
  EXPECT_EQ(rpc.code(), 15);  // DATA_LOSS
  EXPECT_EQ(rpc.message(), "bad tag");
  ASSERT_EQ(rpc.details_size(), 1);
  EXPECT_EQ(rpc.details(0).type_url(), "type.googleapis.com/tontine.v1.ErrorDetail");
}

TEST(WireStatusTest, ForeignOrMissingDetailsYieldAPlainStatus) {
  absl::Status plain = FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "down"));
  EXPECT_EQ(plain.code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(GetErrorDetail(plain).has_value());
  absl::Status junk =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::INTERNAL, "x", "\xff\xff not proto"));
  EXPECT_EQ(junk.code(), absl::StatusCode::kInternal);
  EXPECT_FALSE(GetErrorDetail(junk).has_value());
  EXPECT_EQ(DescribeStatus(WithReason(absl::AbortedError("gone"), "ROUND_ABORTED")),
            "ABORTED [ROUND_ABORTED]: gone");
}

}  // namespace
}  // namespace tontine
