// "Did you mean …?" for misspelled config keys and values.
#ifndef TONTINE_COMMON_CONFIG_SUGGEST_H_
#define TONTINE_COMMON_CONFIG_SUGGEST_H_

#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

namespace tontine::config {

// Optimal-string-alignment distance (Levenshtein plus adjacent transposition), so that
// "rnak" is one edit from "rank". Written here because no Debian package offers it for C++
// and it is twenty lines.
int EditDistance(absl::string_view a, absl::string_view b);

// The candidate closest to `word` if it is close enough to be a plausible typo: at most
// max(1, |word| / 3) edits, or `word` is a case-insensitive match. Ties go to the earlier
// candidate.
std::optional<std::string> NearestCandidate(absl::string_view word,
                                            const std::vector<std::string>& candidates);

}  // namespace tontine::config

#endif  // TONTINE_COMMON_CONFIG_SUGGEST_H_
