#include "common/text/utf8.h"

#include <cstdint>

namespace tontine::text {
namespace {

// The length of the sequence a lead byte starts and the allowed range of its second byte
// (Table 3-7); 0 for a byte that cannot start a sequence (80–C1, F5–FF).
struct Lead {
  int length;
  uint8_t second_min;
  uint8_t second_max;
};

Lead ClassifyLead(uint8_t c) {
  if (c >= 0xC2 && c <= 0xDF) return {2, 0x80, 0xBF};
  if (c == 0xE0) return {3, 0xA0, 0xBF};  // no overlong 3-byte forms
  if (c == 0xED) return {3, 0x80, 0x9F};  // no surrogates
  if (c >= 0xE1 && c <= 0xEF) return {3, 0x80, 0xBF};
  if (c == 0xF0) return {4, 0x90, 0xBF};  // no overlong 4-byte forms
  if (c >= 0xF1 && c <= 0xF3) return {4, 0x80, 0xBF};
  if (c == 0xF4) return {4, 0x80, 0x8F};  // nothing above U+10FFFF
  return {0, 0, 0};
}

}  // namespace

std::optional<size_t> FindInvalidUtf8(absl::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    const Lead lead = ClassifyLead(p[i]);
    const size_t length = static_cast<size_t>(lead.length);
    if (length == 0 || n - i < length) return i;
    if (p[i + 1] < lead.second_min || p[i + 1] > lead.second_max) return i;
    for (size_t k = 2; k < length; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
    }
    i += length;
  }
  return std::nullopt;
}

}  // namespace tontine::text
