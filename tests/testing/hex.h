// Known-answer vectors are published in hex: HexBytes turns one into raw bytes and fails the
// calling test on a malformed literal (a typo must not silently become an empty vector).
#ifndef TONTINE_TESTS_TESTING_HEX_H_
#define TONTINE_TESTS_TESTING_HEX_H_

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "common/base/encoding.h"

namespace tontine::testing {

inline std::string HexBytes(absl::string_view hex) {
  std::optional<std::string> bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.has_value()) << "not hex: " << hex;
  return bytes.value_or("");
}

}  // namespace tontine::testing

#endif  // TONTINE_TESTS_TESTING_HEX_H_
