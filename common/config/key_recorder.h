// The keys a config loader accepts, read from the loader itself: while a KeyRecorder lives,
// every key that a MapReader on its thread looks up is recorded as a dotted path, whether the
// file has it or not. Reading an empty file therefore lists the keys the loader knows, so
// that documentation can be checked against the code (tests/docs/).
//
//   KeyRecorder recorder;
//   ReadClientConfig(*ConfigFile::Parse("", "empty.yaml", "."));
//   recorder.keys();  // {"base_model", "daily_cpu_budget", …, "reconnect.max_backoff", …}
//
// Keys inside a list of mappings carry the element's index ("simulate.dropout[0].phase").
// Recorders nest; the innermost one records. Not thread-safe: it records the readers of the
// thread that created it, and must be destroyed on that thread.
#ifndef TONTINE_COMMON_CONFIG_KEY_RECORDER_H_
#define TONTINE_COMMON_CONFIG_KEY_RECORDER_H_

#include <set>
#include <string>

#include "absl/strings/string_view.h"

namespace tontine::config {

class KeyRecorder {
 public:
  KeyRecorder();
  KeyRecorder(const KeyRecorder&) = delete;
  KeyRecorder& operator=(const KeyRecorder&) = delete;
  ~KeyRecorder();

  // Every dotted key looked up since construction, sorted.
  const std::set<std::string>& keys() const { return keys_; }

  // Adds `dotted_key` to this thread's innermost recorder; does nothing when there is none
  // (the usual case). MapReader calls it for each key it looks up.
  static void Note(absl::string_view dotted_key);

 private:
  std::set<std::string> keys_;
  KeyRecorder* const outer_;  // the recorder this one hides, restored on destruction
};

}  // namespace tontine::config

#endif  // TONTINE_COMMON_CONFIG_KEY_RECORDER_H_
