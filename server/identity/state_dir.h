// The coordinator's state directory: what is in it and how it is created.
//
//   <dir>/               0700
//     tontine.db         SQLite (WAL) — participants, invites, experiments, rounds, audit
//     tls/ca.pem         the coordinator's own CA certificate (clients pin its fingerprint)
//     tls/ca.key         0600
//     tls/server.pem     server certificate followed by the CA certificate (the chain served)
//     tls/server.key     0600
//     adapters/v<N>/     PEFT adapter directories, one per committed version
//
// tontine.db is created last by init, so its presence means "initialised"; an init that
// crashed half-way can simply be run again.
#ifndef TONTINE_SERVER_IDENTITY_STATE_DIR_H_
#define TONTINE_SERVER_IDENTITY_STATE_DIR_H_

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/base/clock.h"
#include "server/store/store.h"

namespace tontine::identity {

struct StateDirPaths {
  explicit StateDirPaths(const std::filesystem::path& dir);

  std::filesystem::path dir;
  std::filesystem::path db;
  std::filesystem::path tls_dir;
  std::filesystem::path ca_cert;
  std::filesystem::path ca_key;
  std::filesystem::path server_cert;  // chain: server, then CA
  std::filesystem::path server_key;
  std::filesystem::path adapters_dir;
  std::filesystem::path dashboard_token;  // the dashboard's admin token, one line
};

struct InitOptions {
  // Extra subjectAltNames for the server certificate: DNS names or IP addresses under which
  // clients reach the coordinator. localhost, 127.0.0.1 and ::1 are always included.
  std::vector<std::string> host_names;
};

struct InitResult {
  std::string ca_fingerprint;             // 32 bytes
  std::vector<std::string> subject_alt_names;  // "DNS:localhost", "IP:127.0.0.1", …
};

// Creates the state directory with its CA, server certificate and database.
// ALREADY_EXISTS (touching nothing) when `dir` already holds a tontine.db.
absl::StatusOr<InitResult> InitStateDir(const std::filesystem::path& dir,
                                        const InitOptions& options, const Clock* clock);

// Opens the database of an initialised state directory. FAILED_PRECONDITION with the
// command to run when `dir` is not initialised; the store's own errors otherwise.
absl::StatusOr<std::unique_ptr<store::Store>> OpenStateStore(const std::filesystem::path& dir,
                                                             const Clock* clock);

// The dashboard admin token in `path`: read when the file exists (FAILED_PRECONDITION naming
// the file when it is empty, not one line of printable text, or readable by others), else
// created (32 random bytes, hex, mode 0600). `created` (optional) tells which happened.
absl::StatusOr<std::string> LoadOrCreateDashboardToken(const std::filesystem::path& path,
                                                       bool* created = nullptr);

// The CA fingerprint of an initialised state directory (32 bytes).
absl::StatusOr<std::string> ReadCaFingerprint(const std::filesystem::path& dir);

}  // namespace tontine::identity

#endif  // TONTINE_SERVER_IDENTITY_STATE_DIR_H_
