// Loading a contributor's data directory into documents, split into train and held-out.
//
// A data directory holds `.txt` files (one document each) and `.jsonl` files (one JSON object
// per line with a string field "text"), at any depth. Everything is validated on load: a bad
// file stops the load with an error naming the file and line, or, with
// `skip_bad_documents`, is skipped with a warning. The result depends only on the files'
// names and contents, so every machine loads the same corpus from the same files.
#ifndef TONTINE_COMMON_TEXT_CORPUS_H_
#define TONTINE_COMMON_TEXT_CORPUS_H_

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tontine::text {

struct Document {
  std::string text;   // valid UTF-8, exactly as stored (not trimmed; a leading BOM dropped)
  std::string file;   // path relative to the data directory, '/'-separated
  int line = 0;       // 1-based line in a .jsonl file; 0 for a .txt file
  std::string group;  // metric bucket (e.g. a language tag); see GroupOf
};

struct CorpusOptions {
  // Share of documents held out for evaluation, in [0, 1]. Default 0.1.
  double held_out_fraction = 0.1;
  // When true, a document with invalid UTF-8 or a bad JSON line is skipped (counted in
  // Corpus::skipped, its error added to Corpus::warnings) instead of failing the load.
  // Default false. Unreadable files fail the load either way.
  bool skip_bad_documents = false;
};

struct Corpus {
  std::vector<Document> train;     // in file order, then line order
  std::vector<Document> held_out;  // same order
  int skipped = 0;                 // bad documents skipped (skip_bad_documents only)
  // One line per skipped document (the error it would have raised) and per symbolic link to
  // a directory (not followed).
  std::vector<std::string> warnings;
};

// Loads every `.txt` and `.jsonl` file under `dir`, recursively, in sorted path order
// (component by component, byte-wise). Other files are ignored, and so are entries whose
// name starts with '.' (e.g. `.git/`, macOS `._x.txt`); symbolic links to files are followed,
// symbolic links to directories are not. Documents that are empty after trimming ASCII
// whitespace are dropped silently; blank .jsonl lines are skipped.
//
// Errors (messages name the file, and the line where there is one):
//   NOT_FOUND            `dir` does not exist.
//   FAILED_PRECONDITION  `dir` is not a directory; "<dir>: no .txt or .jsonl documents" when
//                        no non-empty document remains; a listed entry is not a regular file
//                        or cannot be read for another reason (e.g. a dangling symlink).
//   PERMISSION_DENIED    a file or subdirectory cannot be read for lack of permission.
//   INVALID_ARGUMENT     held_out_fraction outside [0, 1];
//                        "<file>:<line>: invalid UTF-8 at byte offset N" (N counts from the
//                        start of the file; the line is where the bad sequence starts);
//                        "<file>:<line>: not valid JSON: …", "…: not a JSON object",
//                        "…: no \"text\" field", "…: \"text\" is not a string".
absl::StatusOr<Corpus> LoadCorpus(const std::filesystem::path& dir, const CorpusOptions& options);

// The group of a file given by its path relative to the data directory: the first path
// component when the file is in a subdirectory ("wol/udhr.jsonl" → "wol"), else the file's
// stem ("wol.jsonl" → "wol").
std::string GroupOf(const std::filesystem::path& relative);

// Whether a document goes to the held-out side: the first 8 bytes of SHA-256(text) as a
// big-endian integer, divided by 2^64, is below `fraction`. The same text lands on the same
// side on every machine. (OpenSSL's SHA-256 fails only when memory runs out; the process then
// aborts, as on any failed allocation.)
bool IsHeldOut(absl::string_view text, double fraction);

}  // namespace tontine::text

#endif  // TONTINE_COMMON_TEXT_CORPUS_H_
