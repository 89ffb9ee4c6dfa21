// Which config keys the loaders accept, taken from the loaders themselves, and which keys a
// documented config file shows, for checking that configs/*.yaml document every key.
#ifndef TONTINE_TESTS_DOCS_CONFIG_KEYS_H_
#define TONTINE_TESTS_DOCS_CONFIG_KEYS_H_

#include <functional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/config/reader.h"

namespace tontine::docs {

// Reads one config file with a loader (config::ReadExperimentConfig, ReadClientConfig, …),
// whatever it makes of it.
using ConfigReader = std::function<void(config::ConfigFile&)>;

// Every key `read` accepts, as a dotted path ("lora.rank"; in a list of mappings without the
// index: "simulate.dropout.phase"), recorded with config::KeyRecorder: first the keys it looks
// up in an empty file, then, until nothing new turns up, those it looks up when one of the
// keys found so far holds an empty mapping, which reaches the mappings a loader reads only
// when they are present (such as the elements of a list). The names in a free-form mapping
// (cohort.filter's tags) are not keys: no loader looks up a particular one.
std::set<std::string> AcceptedKeys(const ConfigReader& read);

// Every key that the YAML text `yaml` shows, as a dotted path: the keys of its content, and
// the keys of comment lines that read as commented-out YAML ("# coordinator: host:port",
// "#   - phase: training"), placed under the keys above them by indentation. A commented
// key's indentation is the column of its "#" plus the spaces after it, less one, so that
// "  # key: value" is indented like "  key: value". INVALID_ARGUMENT when `yaml` is not YAML.
absl::StatusOr<std::set<std::string>> DocumentedKeys(absl::string_view yaml);

}  // namespace tontine::docs

#endif  // TONTINE_TESTS_DOCS_CONFIG_KEYS_H_
