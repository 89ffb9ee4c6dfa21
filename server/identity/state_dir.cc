#include "server/identity/state_dir.h"

#include <arpa/inet.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/base/encoding.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/crypto/random.h"
#include "common/crypto/x509.h"

namespace tontine::identity {
namespace {

bool IsIpAddress(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

absl::Status WriteTlsMaterial(const StateDirPaths& paths, const InitOptions& options,
                              InitResult& result) {
  TONTINE_ASSIGN_OR_RETURN(crypto::KeyAndCertificate ca,
                           crypto::CreateCertificateAuthority("Tontine coordinator CA",
                                                              absl::Hours(24 * 3650)));
  crypto::ServerCertificateOptions server;
  server.common_name = options.host_names.empty() ? "localhost" : options.host_names.front();
  server.dns_names = {"localhost"};
  server.ip_addresses = {"127.0.0.1", "::1"};
  for (const std::string& host : options.host_names) {
    auto& list = IsIpAddress(host) ? server.ip_addresses : server.dns_names;
    if (std::find(list.begin(), list.end(), host) == list.end()) list.push_back(host);
  }
  TONTINE_ASSIGN_OR_RETURN(crypto::KeyAndCertificate leaf,
                           crypto::IssueServerCertificate(ca, server));
  TONTINE_RETURN_IF_ERROR(MakeDirs(paths.tls_dir, 0700));
  TONTINE_RETURN_IF_ERROR(WriteFileAtomic(paths.ca_key, ca.private_key_pem, 0600));
  TONTINE_RETURN_IF_ERROR(WriteFileAtomic(paths.ca_cert, ca.certificate_pem, 0644));
  TONTINE_RETURN_IF_ERROR(WriteFileAtomic(paths.server_key, leaf.private_key_pem, 0600));
  TONTINE_RETURN_IF_ERROR(
      WriteFileAtomic(paths.server_cert, leaf.certificate_pem + ca.certificate_pem, 0644));
  TONTINE_ASSIGN_OR_RETURN(result.ca_fingerprint,
                           crypto::CertificateFingerprint(ca.certificate_pem));
  TONTINE_ASSIGN_OR_RETURN(result.subject_alt_names,
                           crypto::SubjectAltNames(leaf.certificate_pem));
  return absl::OkStatus();
}

}  // namespace

StateDirPaths::StateDirPaths(const std::filesystem::path& d)
    : dir(d),
      db(d / "tontine.db"),
      tls_dir(d / "tls"),
      ca_cert(d / "tls" / "ca.pem"),
      ca_key(d / "tls" / "ca.key"),
      server_cert(d / "tls" / "server.pem"),
      server_key(d / "tls" / "server.key"),
      adapters_dir(d / "adapters"),
      dashboard_token(d / "dashboard-token") {}

absl::StatusOr<InitResult> InitStateDir(const std::filesystem::path& dir,
                                        const InitOptions& options, const Clock* clock) {
  StateDirPaths paths(dir);
  std::error_code ec;
  if (std::filesystem::exists(paths.db, ec)) {
    return absl::AlreadyExistsError(absl::StrCat(
        dir.string(), " is already an initialised state directory (", paths.db.string(),
        " exists); nothing was changed"));
  }
  TONTINE_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  TONTINE_RETURN_IF_ERROR(MakeDirs(paths.adapters_dir, 0700));
  InitResult result;
  TONTINE_RETURN_IF_ERROR(WriteTlsMaterial(paths, options, result));
  TONTINE_RETURN_IF_ERROR(LoadOrCreateDashboardToken(paths.dashboard_token).status());
  TONTINE_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store,
                           store::Store::Open(paths.db, {.clock = clock, .create = true}));
  nlohmann::json detail = {{"subject_alt_names", result.subject_alt_names}};
  TONTINE_RETURN_IF_ERROR(store->AppendAudit("operator", "init", detail.dump()));
  return result;
}

absl::StatusOr<std::unique_ptr<store::Store>> OpenStateStore(const std::filesystem::path& dir,
                                                             const Clock* clock) {
  StateDirPaths paths(dir);
  std::error_code ec;
  if (!std::filesystem::exists(paths.db, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir.string(), " is not an initialised state directory (no tontine.db); run "
                      "`tontine-coordinator init --state-dir ", dir.string(), "` first"));
  }
  return store::Store::Open(paths.db, {.clock = clock, .create = false});
}

absl::StatusOr<std::string> LoadOrCreateDashboardToken(const std::filesystem::path& path,
                                                       bool* created) {
  if (created != nullptr) *created = false;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    std::array<uint8_t, 32> secret;
    TONTINE_RETURN_IF_ERROR(crypto::RandomBytes(secret));
    std::string token = HexEncode(absl::string_view(reinterpret_cast<const char*>(secret.data()),
                                                    secret.size()));
    TONTINE_RETURN_IF_ERROR(WriteFileAtomic(path, token + "\n", 0600));
    if (created != nullptr) *created = true;
    return token;
  }
  using std::filesystem::perms;
  const perms mode = std::filesystem::status(path, ec).permissions();
  if ((mode & (perms::group_all | perms::others_all)) != perms::none) {
    return absl::FailedPreconditionError(absl::StrCat(
        path.string(), ": the admin token file is readable by other users; run chmod 600 ",
        path.string()));
  }
  TONTINE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  absl::string_view token = absl::StripAsciiWhitespace(text);
  const bool printable = std::all_of(token.begin(), token.end(), [](char c) {
    return c > ' ' && c < 0x7f;
  });
  if (token.size() < 16 || !printable) {
    return absl::FailedPreconditionError(absl::StrCat(
        path.string(), ": the admin token must be one line of at least 16 printable characters "
                       "without spaces"));
  }
  return std::string(token);
}

absl::StatusOr<std::string> ReadCaFingerprint(const std::filesystem::path& dir) {
  TONTINE_ASSIGN_OR_RETURN(std::string pem, ReadFile(StateDirPaths(dir).ca_cert));
  return crypto::CertificateFingerprint(pem);
}

}  // namespace tontine::identity
