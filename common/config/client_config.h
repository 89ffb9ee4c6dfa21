// A contributor's client settings (configs/client.yaml): where its data and state live and
// how much of the laptop it may use. configs/client.yaml mirrors this file.
#ifndef TONTINE_COMMON_CONFIG_CLIENT_CONFIG_H_
#define TONTINE_COMMON_CONFIG_CLIENT_CONFIG_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config/reader.h"

namespace tontine::config {

struct ReconnectConfig {
  // reconnect.initial_backoff: first wait after a lost connection (100ms–1h). Default 1s.
  absl::Duration initial_backoff = absl::Seconds(1);
  // reconnect.max_backoff: the wait doubles (with jitter) up to this (≥ initial). Default 1m.
  absl::Duration max_backoff = absl::Minutes(1);
};

struct ClientConfig {
  // state_dir: the client's state: credential (0600), pinned CA, transparency log, cached
  // adapters. Relative to this file; "~/" is $HOME. Default ~/.local/share/tontine-client.
  std::filesystem::path state_dir;
  // coordinator: host:port to connect to. Default: the address used at enrolment.
  std::string coordinator;
  // data_dir: the contributor's text (.txt and .jsonl files). Required; must exist.
  std::filesystem::path data_dir;
  // base_model: "bundled" (default) or a Hugging Face layout directory; its SHA-256 must
  // match the coordinator's experiment. nullopt means bundled.
  std::optional<std::filesystem::path> base_model_dir;
  // threads: training threads; 0 (default) = all cores (0–1024).
  int threads = 0;
  // memory_limit: cap on training memory, e.g. 2GiB; 0 (default) = no cap.
  uint64_t memory_limit_bytes = 0;
  // pause_when_on_battery: while the laptop runs on its battery (where the OS reports it:
  // Linux /sys/class/power_supply), decline rounds and stop training between steps.
  // Default false.
  bool pause_when_on_battery = false;
  // daily_cpu_budget: processor time, summed over threads, that rounds may use per local
  // calendar day, e.g. 2h (1m–1000h); once spent, rounds are declined until midnight.
  // "unlimited" (default) is stored as zero.
  absl::Duration daily_cpu_budget = absl::ZeroDuration();
  // insecure: talk plaintext to a coordinator started with --insecure. Default false.
  bool insecure = false;
  ReconnectConfig reconnect;
  // log_level: trace, debug, info (default), warn, error or off.
  std::string log_level = "info";
};

// Loads and validates a client file. INVALID_ARGUMENT with "file:line:col: message" lines.
absl::StatusOr<ClientConfig> LoadClientConfig(const std::filesystem::path& path);

// Reads an open client file, reporting problems to `file`; the result is meaningful only if
// `file` has no errors after.
ClientConfig ReadClientConfig(ConfigFile& file);

}  // namespace tontine::config

#endif  // TONTINE_COMMON_CONFIG_CLIENT_CONFIG_H_
