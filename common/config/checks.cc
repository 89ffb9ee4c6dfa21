#include "common/config/checks.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tontine::config {

std::optional<std::string> CheckName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 &&
            (absl::ascii_islower(name[0]) || absl::ascii_isdigit(name[0]));
  for (char c : name) {
    ok = ok && (absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '.' || c == '_' ||
                c == '-');
  }
  if (ok) return std::nullopt;
  return absl::StrCat("'", name,
                      "' is not a valid name; use lower-case letters, digits, '.', '_' and '-', "
                      "starting with a letter or digit, at most 64 characters");
}

std::optional<std::string> CheckAddress(absl::string_view address) {
  auto bad = [&] {
    return absl::StrCat("'", address,
                        "' is not an address; write host:port, e.g. 127.0.0.1:7443, "
                        "coordinator.example.org:7443 or [::1]:7443");
  };
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return bad();
  absl::string_view host = address.substr(0, colon);
  absl::string_view port_text = address.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return bad();
  } else if (host.find(':') != absl::string_view::npos) {
    return bad();  // IPv6 needs brackets
  }
  for (char c : host) {
    if (absl::ascii_isspace(c)) return bad();
  }
  uint32_t port = 0;
  if (port_text.empty() || !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return absl::StrCat("'", address, "': the port must be a number from 0 to 65535");
  }
  return std::nullopt;
}

}  // namespace tontine::config
