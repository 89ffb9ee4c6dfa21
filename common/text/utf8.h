// UTF-8 validation for contributed text.
#ifndef TONTINE_COMMON_TEXT_UTF8_H_
#define TONTINE_COMMON_TEXT_UTF8_H_

#include <cstddef>
#include <optional>

#include "absl/strings/string_view.h"

namespace tontine::text {

// The byte offset at which the first ill-formed sequence starts, or nullopt when `bytes` is
// well-formed UTF-8 (Unicode §3.9, Table 3-7: no overlong forms, no surrogates D800–DFFF,
// nothing above U+10FFFF, no truncated or stray continuation bytes). NUL is well-formed.
std::optional<size_t> FindInvalidUtf8(absl::string_view bytes);

}  // namespace tontine::text

#endif  // TONTINE_COMMON_TEXT_UTF8_H_
