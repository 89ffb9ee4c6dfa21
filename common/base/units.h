// Parsing human-written durations and byte sizes, as used in configs and on the command line.
#ifndef TONTINE_COMMON_BASE_UNITS_H_
#define TONTINE_COMMON_BASE_UNITS_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace tontine {

// A sequence of <number><unit> with units ms, s, m, h, d (days = 24 h): "30s", "1h30m",
// "7d", "1.5s". A bare "0" is zero. INVALID_ARGUMENT otherwise, saying what is accepted.
absl::StatusOr<absl::Duration> ParseDuration(absl::string_view text);

// <number>[unit] with units B, KB, MB, GB (powers of 1000) and KiB, MiB, GiB (powers of 1024);
// a bare number is bytes. Case-sensitive. INVALID_ARGUMENT otherwise.
absl::StatusOr<uint64_t> ParseByteSize(absl::string_view text);

// The shortest exact rendering: "7d", "1h30m", "250ms".
std::string FormatShortDuration(absl::Duration d);

// A size for people, in powers of 1000 with one decimal: "512 B", "1.2 KB", "3.4 MB",
// "1.0 GB" (GB is the largest unit).
std::string FormatByteSize(uint64_t bytes);

}  // namespace tontine

#endif  // TONTINE_COMMON_BASE_UNITS_H_
