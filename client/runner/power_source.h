// Whether the laptop runs on its battery, for `pause_when_on_battery`.
//
// Linux reports power supplies under /sys/class/power_supply/<name>/ (Documentation/ABI/
// testing/sysfs-class-power): `type` is Battery, Mains, USB, Wireless or UPS; a charger has
// `online` (1 when it powers the machine); a battery has `present` and `status` (Charging,
// Discharging, Full, Not charging). Batteries of peripherals (a wireless mouse) have
// `scope` = Device and are ignored.
//
// The machine is on battery when a system battery is present and no charger is online; when
// no charger is reported at all, when the battery says it is Discharging. Without a system
// battery (a desktop, a VM, a container without /sys) the source is "not reported" and the
// client never pauses for it.
#ifndef TONTINE_CLIENT_RUNNER_POWER_SOURCE_H_
#define TONTINE_CLIENT_RUNNER_POWER_SOURCE_H_

#include <filesystem>
#include <string>

namespace tontine::runner {

inline constexpr char kSysPowerSupplyDir[] = "/sys/class/power_supply";

enum class PowerSource {
  kNotReported,  // no system battery: never pause
  kMains,        // a charger is online (or the battery charges)
  kBattery,      // running on the battery
};

// Reads the power supplies under `root` (kSysPowerSupplyDir in production; a fake tree in
// tests). Unreadable or missing entries count as absent; never fails.
PowerSource ReadPowerSource(const std::filesystem::path& root = kSysPowerSupplyDir);

// "not reported", "on mains power", "on battery".
std::string DescribePowerSource(PowerSource source);

}  // namespace tontine::runner

#endif  // TONTINE_CLIENT_RUNNER_POWER_SOURCE_H_
