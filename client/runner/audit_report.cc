#include "client/runner/audit_report.h"

#include <algorithm>
#include <array>
#include <map>
#include <system_error>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/base/units.h"

namespace tontine::runner {
namespace {

constexpr size_t kDigestPrefix = 16;
constexpr int kColumns = 6;

std::string TimeOf(const TransparencyEntry& e, const char* format) {
  return absl::FormatTime(format, absl::FromUnixMillis(e.at_unix_ms), absl::UTCTimeZone());
}

using Row = std::array<std::string, kColumns>;

Row RowOf(const TransparencyEntry& e) {
  return {TimeOf(e, "%Y-%m-%d %H:%M:%E3S"), e.round == 0 ? "-" : absl::StrCat(e.round), e.call,
          e.message, absl::StrCat(e.bytes), e.sha256.substr(0, kDigestPrefix)};
}

// Numbers (round, bytes) are right-aligned, text left-aligned; the last column is not padded.
std::string FormatRow(const Row& row, const std::array<size_t, kColumns>& width) {
  static constexpr std::array<bool, kColumns> kRight = {false, true, false, false, true, false};
  std::string line;
  for (int i = 0; i < kColumns; ++i) {
    const std::string& cell = row[i];
    const std::string pad(width[i] - std::min(width[i], cell.size()), ' ');
    if (i > 0) line += "  ";
    line += i == kColumns - 1 ? cell : kRight[i] ? pad + cell : cell + pad;
  }
  return line + "\n";
}

}  // namespace

std::string FormatAuditTable(const std::vector<TransparencyEntry>& entries) {
  const Row header = {"time (UTC)", "round", "call", "message", "bytes", "sha256"};
  std::vector<Row> rows;
  rows.reserve(entries.size());
  std::array<size_t, kColumns> width{};
  for (int i = 0; i < kColumns; ++i) width[i] = header[i].size();
  uint64_t total = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_message;  // count, bytes
  for (const TransparencyEntry& e : entries) {
    rows.push_back(RowOf(e));
    for (int i = 0; i < kColumns; ++i) width[i] = std::max(width[i], rows.back()[i].size());
    total += e.bytes;
    by_message[e.message].first += 1;
    by_message[e.message].second += e.bytes;
  }
  std::string out = FormatRow(header, width);
  for (const Row& row : rows) out += FormatRow(row, width);
  absl::StrAppend(&out, "total: ", entries.size(), entries.size() == 1 ? " message, " : " messages, ",
                  FormatByteSize(total), " (", total, " bytes)\n");
  size_t name_width = 0;
  for (const auto& [message, unused] : by_message) name_width = std::max(name_width, message.size());
  for (const auto& [message, count_bytes] : by_message) {
    absl::StrAppend(&out, absl::StrFormat("  %-*s %6d  %s\n", static_cast<int>(name_width),
                                          message, count_bytes.first,
                                          FormatByteSize(count_bytes.second)));
  }
  return out;
}

std::string FormatAuditJson(const std::vector<TransparencyEntry>& entries) {
  if (entries.empty()) return "[]\n";
  std::string out = "[\n";
  for (size_t i = 0; i < entries.size(); ++i) {
    const TransparencyEntry& e = entries[i];
    const nlohmann::json j = {{"time", TimeOf(e, "%Y-%m-%dT%H:%M:%E3SZ")},
                              {"at_unix_ms", e.at_unix_ms},
                              {"call", e.call},
                              {"message", e.message},
                              {"round", e.round},
                              {"bytes", e.bytes},
                              {"sha256", e.sha256}};
    absl::StrAppend(&out, "  ", j.dump(), i + 1 < entries.size() ? ",\n" : "\n");
  }
  return out + "]\n";
}

absl::StatusOr<std::string> AuditReport(const std::filesystem::path& state_dir, bool json) {
  std::error_code ec;
  if (!std::filesystem::is_directory(state_dir, ec)) {
    return absl::NotFoundError(absl::StrCat(
        state_dir.string(), " is not a client state directory (enrol first, or pass the "
                            "--state-dir or --config you enrolled with)"));
  }
  const std::filesystem::path path = state_dir / kTransparencyLogFile;
  absl::StatusOr<std::vector<TransparencyEntry>> entries = ReadTransparencyLog(path);
  // No log in a state directory: nothing was sent yet, an empty report.
  if (absl::IsNotFound(entries.status())) entries = std::vector<TransparencyEntry>{};
  if (!entries.ok()) return entries.status();
  if (json) return FormatAuditJson(*entries);
  return absl::StrCat("Everything this client sent to its coordinator (", path.string(), "):\n\n",
                      FormatAuditTable(*entries),
                      "Only protocol messages and masked updates (MaskedUpdateChunk) leave this "
                      "machine; your text never does.\n");
}

}  // namespace tontine::runner
