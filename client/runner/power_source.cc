#include "client/runner/power_source.h"

#include <fstream>
#include <optional>
#include <system_error>

#include "absl/strings/ascii.h"

namespace tontine::runner {
namespace {

namespace fs = std::filesystem;

// The first line of a sysfs attribute, trimmed; nullopt when it cannot be read.
std::optional<std::string> Attribute(const fs::path& dir, const char* name) {
  std::ifstream in(dir / name);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return std::string(absl::StripAsciiWhitespace(line));
}

}  // namespace

PowerSource ReadPowerSource(const fs::path& root) {
  bool battery = false;
  bool discharging = false;
  bool charger_reported = false;
  bool charger_online = false;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& dir = it->path();
    const std::optional<std::string> type = Attribute(dir, "type");
    if (!type.has_value()) continue;
    if (Attribute(dir, "scope") == std::optional<std::string>("Device")) continue;
    if (*type == "Battery") {
      if (Attribute(dir, "present") == std::optional<std::string>("0")) continue;
      battery = true;
      discharging |= Attribute(dir, "status") == std::optional<std::string>("Discharging");
    } else if (*type == "Mains" || *type == "USB" || *type == "Wireless" || *type == "UPS") {
      charger_reported = true;
      // USB supplies report 1 (fixed) or 2 (programmable) when online.
      const std::optional<std::string> online = Attribute(dir, "online");
      charger_online |= online.has_value() && *online != "0" && !online->empty();
    }
  }
  if (!battery) return PowerSource::kNotReported;
  if (charger_reported) return charger_online ? PowerSource::kMains : PowerSource::kBattery;
  return discharging ? PowerSource::kBattery : PowerSource::kMains;
}

std::string DescribePowerSource(PowerSource source) {
  switch (source) {
    case PowerSource::kMains: return "on mains power";
    case PowerSource::kBattery: return "on battery";
    case PowerSource::kNotReported: break;
  }
  return "not reported";
}

}  // namespace tontine::runner
