#include "server/http/dashboard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "common/base/files.h"
#include "common/crypto/sha256.h"
#include "server/http/archive.h"
#include "server/identity/state_dir.h"
#include "tests/server/store/store_fixtures.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine::http {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using tontine::testing::IsOk;
using tontine::testing::StatusIs;

// A real state directory (CA, server certificate, admin token, database) with two enrolled
// participants, one committed round and its adapter version, served by a real dashboard over
// TLS on 127.0.0.1.
class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = dir_.path() / "state";
    ASSERT_THAT(identity::InitStateDir(state_, {}, Clock::Real()), IsOk());
    absl::StatusOr<std::string> token =
        identity::LoadOrCreateDashboardToken(identity::StateDirPaths(state_).dashboard_token);
    ASSERT_THAT(token, IsOk());
    token_ = *token;
    absl::StatusOr<std::unique_ptr<store::Store>> store =
        identity::OpenStateStore(state_, Clock::Real());
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    absl::StatusOr<int64_t> experiment =
        store::SeedParticipantsAndExperiment(*store_, *Clock::Real(), 2);
    ASSERT_THAT(experiment, IsOk());
    const absl::Time now = Clock::Real()->Now();
    ASSERT_THAT(MakeDirs(state_ / "adapters" / "v1"), IsOk());
    ASSERT_THAT(WriteFileAtomic(state_ / "adapters/v1/adapter_config.json", "{}"), IsOk());
    ASSERT_THAT(WriteFileAtomic(state_ / "adapters/v1/adapter_model.safetensors", "weights"),
                IsOk());
    store::AdapterRecord adapter{1, *experiment, 1, "adapters/v1", *crypto::Sha256Digest("weights"),
                                 7, now};
    store::RoundRecord round = store::TestRound(1, *experiment, 2, now);
    round.adapter_version = 1;
    ASSERT_THAT(store_->CommitRound(round, adapter), IsOk());
  }

  void StartDashboard(bool public_summary = true) {
    DashboardOptions options;
    options.listen = "127.0.0.1:0";
    const identity::StateDirPaths paths(state_);
    options.certificate_chain = paths.server_cert;
    options.private_key = paths.server_key;
    options.admin_token = token_;
    options.public_summary = public_summary;
    options.state_dir = state_;
    absl::StatusOr<std::unique_ptr<Dashboard>> dashboard = Dashboard::Start(
        store_.get(),
        [] {
          LiveStatus live;
          live.coordinator_version = "test";
          live.rounds_target = 4;
          live.connected = {"p-001"};
          live.round = LiveRound{2, 2, "share_keys", absl::Now(), 2, 1, 1, 0};
          return live;
        },
        &errors_, options);
    ASSERT_THAT(dashboard, IsOk());
    dashboard_ = *std::move(dashboard);
  }

  // A client that verifies the dashboard's certificate against the state dir's CA.
  std::unique_ptr<httplib::SSLClient> Client() {
    auto client = std::make_unique<httplib::SSLClient>("127.0.0.1", dashboard_->port());
    client->set_ca_cert_path(identity::StateDirPaths(state_).ca_cert.c_str());
    client->enable_server_certificate_verification(true);
    return client;
  }

  httplib::Result Get(const std::string& path, const std::string& token = "") {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return Client()->Get(path, headers);
  }

  tontine::testing::TempDir dir_;
  std::filesystem::path state_;
  std::string token_;
  std::unique_ptr<store::Store> store_;
  StatusCounts errors_;
  std::unique_ptr<Dashboard> dashboard_;
};

TEST_F(DashboardTest, ServesThePageAndItsAssetsOverVerifiedTls) {
  StartDashboard();
  httplib::Result page = Get("/");
  ASSERT_TRUE(page) << httplib::to_string(page.error());
  EXPECT_EQ(page->status, 200);
  EXPECT_THAT(page->get_header_value("Content-Type"), StartsWith("text/html"));
  EXPECT_THAT(page->get_header_value("Content-Security-Policy"), HasSubstr("default-src 'self'"));
  EXPECT_THAT(page->body, HasSubstr("<script src=\"/dashboard.js\""));
  // Every asset the page refers to is served by the coordinator itself: no CDN.
  EXPECT_THAT(page->body, ::testing::Not(HasSubstr("http://")));
  EXPECT_THAT(page->body, ::testing::Not(HasSubstr("https://")));
  for (const char* asset : {"/dashboard.js", "/dashboard.css"}) {
    httplib::Result r = Get(asset);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << asset;
    EXPECT_GT(r->body.size(), 100u) << asset;
  }
}

TEST_F(DashboardTest, PublicSummaryRoundsAndAdaptersNeedNoToken) {
  StartDashboard();
  httplib::Result summary = Get("/api/v1/summary");
  ASSERT_TRUE(summary);
  ASSERT_EQ(summary->status, 200);
  nlohmann::json s = nlohmann::json::parse(summary->body);
  EXPECT_EQ(s["experiment"]["name"], "exp");
  EXPECT_EQ(s["rounds_committed"], 1);
  EXPECT_EQ(s["rounds_target"], 4);
  EXPECT_EQ(s["participants_enrolled"], 2);
  EXPECT_EQ(s["participants_connected"], 1);
  EXPECT_EQ(s["current_round"]["phase"], "share_keys");
  EXPECT_EQ(s["latest_adapter"]["version"], 1);

  httplib::Result rounds = Get("/api/v1/rounds");
  ASSERT_TRUE(rounds);
  ASSERT_EQ(rounds->status, 200);
  nlohmann::json r = nlohmann::json::parse(rounds->body)["rounds"];
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["number"], 1);
  EXPECT_EQ(r[0]["adapter_version"], 1);

  httplib::Result adapters = Get("/api/v1/adapters");
  ASSERT_TRUE(adapters);
  EXPECT_EQ(nlohmann::json::parse(adapters->body)["adapters"][0]["size_bytes"], 7);
}

TEST_F(DashboardTest, AdminEndpointsRefuseAMissingOrWrongToken) {
  StartDashboard();
  for (const char* path : {"/api/v1/participants", "/api/v1/adapters/1/peft.tar",
                           "/api/v1/adapters/1/peft.zip", "/api/v1/session"}) {
    httplib::Result missing = Get(path);
    ASSERT_TRUE(missing);
    EXPECT_EQ(missing->status, 401) << path;
    EXPECT_THAT(missing->get_header_value("WWW-Authenticate"), StartsWith("Bearer")) << path;
    EXPECT_THAT(missing->body, HasSubstr("admin token")) << path;
    httplib::Result wrong = Get(path, token_.substr(1) + "x");
    ASSERT_TRUE(wrong);
    EXPECT_EQ(wrong->status, 401) << path;
    EXPECT_THAT(wrong->body, HasSubstr("wrong admin token")) << path;
  }
  httplib::Result participants = Get("/api/v1/participants", token_);
  ASSERT_TRUE(participants);
  ASSERT_EQ(participants->status, 200);
  nlohmann::json p = nlohmann::json::parse(participants->body)["participants"];
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0]["id"], "p-000");
  EXPECT_EQ(p[0]["connected"], false);
  EXPECT_EQ(p[1]["connected"], true);
}

TEST_F(DashboardTest, DownloadsThePeftDirectoryAsTarOrZip) {
  StartDashboard();
  for (auto [format, type] : {std::pair{ArchiveFormat::kTar, "application/x-tar"},
                              std::pair{ArchiveFormat::kZip, "application/zip"}}) {
    const std::string extension = format == ArchiveFormat::kZip ? "zip" : "tar";
    httplib::Result r = Get("/api/v1/adapters/1/peft." + extension, token_);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), type);
    EXPECT_EQ(r->get_header_value("Content-Disposition"),
              "attachment; filename=\"exp-v1." + extension + "\"");
    absl::StatusOr<std::string> expected = ArchivePeftDir(state_ / "adapters/v1", "exp-v1", format);
    ASSERT_THAT(expected, IsOk());
    EXPECT_EQ(r->body, *expected);
  }
  httplib::Result missing = Get("/api/v1/adapters/9/peft.tar", token_);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_THAT(missing->body, HasSubstr("no adapter version 9"));
}

TEST_F(DashboardTest, WithoutAPublicSummaryEverythingButThePageNeedsTheToken) {
  StartDashboard(/*public_summary=*/false);
  httplib::Result page = Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  for (const char* path : {"/api/v1/summary", "/api/v1/rounds", "/api/v1/adapters", "/metrics"}) {
    httplib::Result r = Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << path;
    httplib::Result authorised = Get(path, token_);
    ASSERT_TRUE(authorised);
    EXPECT_EQ(authorised->status, 200) << path;
  }
}

TEST_F(DashboardTest, MetricsAreTheExpositionFormatWithLiveAndRecordedFigures) {
  StartDashboard();
  errors_.Add(absl::StatusCode::kPermissionDenied);
  httplib::Result r = Get("/metrics");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_THAT(r->get_header_value("Content-Type"), StartsWith("text/plain; version=0.0.4"));
  EXPECT_THAT(r->body, HasSubstr("tontine_rounds_total{outcome=\"committed\"} 1\n"));
  EXPECT_THAT(r->body, HasSubstr("tontine_participants_connected 1\n"));
  EXPECT_THAT(r->body, HasSubstr("tontine_round_phase{phase=\"share_keys\"} 1\n"));
  EXPECT_THAT(r->body, HasSubstr("tontine_errors_total{code=\"PERMISSION_DENIED\"} 1\n"));
}

TEST_F(DashboardTest, UnknownPathsAreJson404) {
  StartDashboard();
  httplib::Result r = Get("/api/v1/nothing");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "not found");
}

TEST_F(DashboardTest, StartErrorsAreSpecific) {
  StartDashboard();
  DashboardOptions options;
  const identity::StateDirPaths paths(state_);
  options.certificate_chain = paths.server_cert;
  options.private_key = paths.server_key;
  options.admin_token = token_;
  options.listen = absl::StrCat("127.0.0.1:", dashboard_->port());  // taken
  auto live = [] { return LiveStatus{}; };
  EXPECT_THAT(Dashboard::Start(store_.get(), live, &errors_, options),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot listen")));
  options.listen = "127.0.0.1:0";
  options.admin_token = "short";
  EXPECT_THAT(Dashboard::Start(store_.get(), live, &errors_, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("16 characters")));
  options.admin_token = token_;
  options.private_key = dir_.path() / "missing.key";
  EXPECT_THAT(Dashboard::Start(store_.get(), live, &errors_, options),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("missing.key")));
  options.private_key = paths.server_key;
  options.listen = "no-port";
  EXPECT_THAT(Dashboard::Start(store_.get(), live, &errors_, options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("host:port")));
}

}  // namespace
}  // namespace tontine::http
