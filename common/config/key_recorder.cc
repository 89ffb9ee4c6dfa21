#include "common/config/key_recorder.h"

namespace tontine::config {
namespace {

thread_local KeyRecorder* innermost = nullptr;

}  // namespace

KeyRecorder::KeyRecorder() : outer_(innermost) { innermost = this; }

KeyRecorder::~KeyRecorder() { innermost = outer_; }

void KeyRecorder::Note(absl::string_view dotted_key) {
  if (innermost != nullptr) innermost->keys_.emplace(dotted_key);
}

}  // namespace tontine::config
