#include "client/runner/enrolment.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "client/transport/ca_pinning.h"
#include "common/base/encoding.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/crypto/tokens.h"
#include "common/crypto/x509.h"

namespace tontine::runner {
namespace {

constexpr char kCredentialFile[] = "credential.json";
constexpr char kCaFile[] = "ca.pem";

absl::Status SaveIdentity(const std::filesystem::path& dir, const ClientIdentity& id) {
  TONTINE_RETURN_IF_ERROR(MakeDirs(dir, 0700));
  if (!id.insecure) TONTINE_RETURN_IF_ERROR(WriteFileAtomic(dir / kCaFile, id.ca_pem, 0644));
  nlohmann::json j = {
      {"coordinator", id.coordinator},
      {"insecure", id.insecure},
      {"ca_fingerprint", id.insecure ? "" : FormatFingerprint(id.ca_fingerprint)},
      {"participant_id", id.participant_id},
      {"secret", Base64UrlEncode(id.secret)},
      {"tags", id.tags},
      {"enrolled_unix_ms", absl::ToUnixMillis(id.enrolled)},
  };
  // Written last: its presence means "enrolled".
  return WriteFileAtomic(dir / kCredentialFile, j.dump(2) + "\n", 0600);
}

absl::Status Damaged(const std::filesystem::path& file, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      file.string(), ": ", what, "; the file is damaged — enrol again into a new state dir"));
}

}  // namespace

std::string ClientIdentity::Credential() const {
  return crypto::FormatCredential({participant_id, secret});
}

transport::ChannelOptions ClientIdentity::Channel(const std::string& address_override) const {
  transport::ChannelOptions options;
  options.address = address_override.empty() ? coordinator : address_override;
  options.insecure = insecure;
  options.ca_pem = ca_pem;
  options.credential = Credential();
  return options;
}

absl::StatusOr<ClientIdentity> Enrol(const EnrolOptions& options) {
  std::error_code ec;
  if (std::filesystem::exists(options.state_dir / kCredentialFile, ec)) {
    return absl::AlreadyExistsError(absl::StrCat(
        options.state_dir.string(), " already holds an enrolment (", kCredentialFile,
        "); use another --state-dir to enrol again"));
  }
  ClientIdentity id;
  id.coordinator = options.coordinator;
  id.insecure = options.insecure;
  if (options.insecure && !options.fingerprint.empty()) {
    return absl::InvalidArgumentError("--ca-fingerprint and --insecure exclude each other");
  }
  if (!options.insecure) {
    std::optional<std::string> fp = ParseFingerprint(options.fingerprint);
    if (!fp.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", options.fingerprint, "' is not a CA fingerprint; it looks like SHA256:AB:CD:… "
          "(32 pairs of hex digits), as `tontine-coordinator init` and `invite` print it"));
    }
    id.ca_fingerprint = *fp;
    TONTINE_ASSIGN_OR_RETURN(id.ca_pem, transport::FetchPinnedCa(options.coordinator, *fp));
  }
  auto client = transport::CoordinatorClient::Create(id.Channel());
  TONTINE_ASSIGN_OR_RETURN(v1::EnrolResponse response, client->Enrol(options.invite_token));
  if (response.participant_secret().size() != crypto::kTokenSecretBytes) {
    return absl::InternalError("the coordinator sent a malformed credential");
  }
  id.participant_id = response.participant_id();
  id.secret = response.participant_secret();
  id.tags.insert(response.tags().begin(), response.tags().end());
  id.enrolled = absl::FromUnixMillis(static_cast<int64_t>(response.enrolled_unix_ms()));
  TONTINE_RETURN_IF_ERROR(SaveIdentity(options.state_dir, id));
  return id;
}

absl::StatusOr<ClientIdentity> LoadIdentity(const std::filesystem::path& state_dir) {
  const std::filesystem::path file = state_dir / kCredentialFile;
  absl::StatusOr<std::string> text = ReadFile(file);
  if (absl::IsNotFound(text.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "not enrolled: ", file.string(), " does not exist; run `tontine-client enrol` with "
        "the invite from the coordinator's operator"));
  }
  if (!text.ok()) return text.status();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Damaged(file, "not a JSON object");
  ClientIdentity id;
  try {
    id.coordinator = j.at("coordinator").get<std::string>();
    id.insecure = j.at("insecure").get<bool>();
    id.participant_id = j.at("participant_id").get<std::string>();
    std::optional<std::string> secret = Base64UrlDecode(j.at("secret").get<std::string>());
    if (!secret || secret->size() != crypto::kTokenSecretBytes) return Damaged(file, "bad secret");
    id.secret = *secret;
    id.tags = j.at("tags").get<std::map<std::string, std::string>>();
    id.enrolled = absl::FromUnixMillis(j.at("enrolled_unix_ms").get<int64_t>());
    if (!id.insecure) {
      std::optional<std::string> fp = ParseFingerprint(j.at("ca_fingerprint").get<std::string>());
      if (!fp) return Damaged(file, "bad ca_fingerprint");
      id.ca_fingerprint = *fp;
    }
  } catch (const nlohmann::json::exception& e) {
    return Damaged(file, e.what());
  }
  if (!id.insecure) {
    TONTINE_ASSIGN_OR_RETURN(id.ca_pem, ReadFile(state_dir / kCaFile));
    absl::StatusOr<std::string> fp = crypto::CertificateFingerprint(id.ca_pem);
    if (!fp.ok() || *fp != id.ca_fingerprint) {
      return Damaged(state_dir / kCaFile, "does not match the CA fingerprint pinned at enrolment");
    }
  }
  return id;
}

}  // namespace tontine::runner
