#include "common/text/corpus.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/crypto/sha256.h"
#include "common/text/utf8.h"

namespace tontine::text {
namespace {

namespace fs = std::filesystem;

constexpr absl::string_view kUtf8Bom = "\xEF\xBB\xBF";

// PERMISSION_DENIED for a refused access, else FAILED_PRECONDITION: either way the user has
// to fix the data directory before retrying.
absl::Status UnreadableError(const fs::path& path, const std::error_code& ec) {
  std::string message = absl::StrCat(path.string(), ": cannot read: ", ec.message());
  if (ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted) {
    return absl::PermissionDeniedError(message);
  }
  return absl::FailedPreconditionError(message);
}

// What a walk of the data directory found.
struct Listing {
  std::vector<fs::path> files;  // relative to the data directory
  std::vector<std::string> warnings;
};

bool IsDocumentName(const fs::path& name) {
  return name.extension() == ".txt" || name.extension() == ".jsonl";
}

// Adds the document files under root/relative to `listing`, descending into subdirectories.
absl::Status Walk(const fs::path& root, const fs::path& relative, Listing& listing) {
  std::error_code ec;
  fs::directory_iterator it(root / relative, ec);
  if (ec) return UnreadableError(root / relative, ec);
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path name = it->path().filename();
    if (absl::StartsWith(name.string(), ".")) continue;
    const fs::path child = relative / name;
    std::error_code type_ec;
    if (it->is_directory(type_ec)) {
      if (it->is_symlink(type_ec)) {
        listing.warnings.push_back(
            absl::StrCat((root / child).string(), ": symbolic link to a directory, not followed"));
        continue;
      }
      TONTINE_RETURN_IF_ERROR(Walk(root, child, listing));
    } else if (IsDocumentName(name)) {
      listing.files.push_back(child);
    }
  }
  if (ec) return UnreadableError(root / relative, ec);
  return absl::OkStatus();
}

// The contents of a listed file; only regular files are opened (a FIFO would block).
absl::StatusOr<std::string> ReadDocumentFile(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec) return UnreadableError(path, ec);  // e.g. a dangling symbolic link
  if (!fs::is_regular_file(status)) {
    return absl::FailedPreconditionError(absl::StrCat(path.string(), ": not a regular file"));
  }
  absl::StatusOr<std::string> contents = ReadFile(path);
  if (contents.ok() || absl::IsPermissionDenied(contents.status())) return contents;
  return absl::FailedPreconditionError(contents.status().message());
}

// 1-based number of the line holding byte `offset`.
int LineAt(absl::string_view contents, size_t offset) {
  return 1 + static_cast<int>(std::count(contents.begin(), contents.begin() + offset, '\n'));
}

// Collects documents from one file at a time; bad documents fail the load or are skipped.
class Loader {
 public:
  Loader(const fs::path& dir, const CorpusOptions& options, Corpus& corpus)
      : dir_(dir), options_(options), corpus_(corpus) {}

  absl::Status LoadFile(const fs::path& relative) {
    const fs::path path = dir_ / relative;
    TONTINE_ASSIGN_OR_RETURN(std::string contents, ReadDocumentFile(path));
    Document doc{"", relative.generic_string(), 0, GroupOf(relative)};
    if (relative.extension() == ".txt") return LoadTxt(path, contents, std::move(doc));
    return LoadJsonl(path, contents, std::move(doc));
  }

  std::vector<Document> TakeDocuments() { return std::move(documents_); }

 private:
  absl::Status LoadTxt(const fs::path& path, absl::string_view contents, Document doc) {
    if (std::optional<size_t> bad = FindInvalidUtf8(contents)) {
      return Reject(InvalidUtf8(path, LineAt(contents, *bad), *bad));
    }
    if (absl::StartsWith(contents, kUtf8Bom)) contents.remove_prefix(kUtf8Bom.size());
    doc.text = std::string(contents);
    Keep(std::move(doc));
    return absl::OkStatus();
  }

  absl::Status LoadJsonl(const fs::path& path, absl::string_view contents,
                         const Document& file_doc) {
    size_t start = absl::StartsWith(contents, kUtf8Bom) ? kUtf8Bom.size() : 0;
    for (int line = 1; start < contents.size(); ++line) {
      size_t end = contents.find('\n', start);
      if (end == absl::string_view::npos) end = contents.size();
      const absl::string_view text = contents.substr(start, end - start);
      if (!absl::StripAsciiWhitespace(text).empty()) {
        Document doc = file_doc;
        doc.line = line;
        if (std::optional<size_t> bad = FindInvalidUtf8(text)) {
          TONTINE_RETURN_IF_ERROR(Reject(InvalidUtf8(path, line, start + *bad)));
        } else if (absl::StatusOr<std::string> t = TextField(text); !t.ok()) {
          TONTINE_RETURN_IF_ERROR(Reject(absl::InvalidArgumentError(
              absl::StrCat(path.string(), ":", line, ": ", t.status().message()))));
        } else {
          doc.text = *std::move(t);
          Keep(std::move(doc));
        }
      }
      start = end + 1;
    }
    return absl::OkStatus();
  }

  // The "text" string of one JSON line; the message says what is wrong.
  static absl::StatusOr<std::string> TextField(absl::string_view line) {
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line.begin(), line.end());
    } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for 1e999
      return absl::InvalidArgumentError(absl::StrCat("not valid JSON: ", e.what()));
    }
    if (!object.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("not a JSON object (found ", object.type_name(), ")"));
    }
    auto it = object.find("text");
    if (it == object.end()) return absl::InvalidArgumentError("no \"text\" field");
    if (!it->is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"text\" is not a string (found ", it->type_name(), ")"));
    }
    return it->get<std::string>();
  }

  static absl::Status InvalidUtf8(const fs::path& path, int line, size_t offset) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), ":", line, ": invalid UTF-8 at byte offset ", offset));
  }

  // Fails the load, or skips the document with a warning in skip mode.
  absl::Status Reject(absl::Status bad) {
    if (!options_.skip_bad_documents) return bad;
    ++corpus_.skipped;
    corpus_.warnings.emplace_back(bad.message());
    return absl::OkStatus();
  }

  void Keep(Document doc) {
    if (!absl::StripAsciiWhitespace(doc.text).empty()) documents_.push_back(std::move(doc));
  }

  const fs::path& dir_;
  const CorpusOptions& options_;
  Corpus& corpus_;
  std::vector<Document> documents_;
};

// The first 8 bytes of SHA-256(text), big-endian.
uint64_t SplitKey(absl::string_view text) {
  absl::StatusOr<std::string> digest = crypto::Sha256Digest(text);
  if (!digest.ok()) {
    std::fprintf(stderr, "SHA-256 failed: %s\n", digest.status().ToString().c_str());
    std::abort();
  }
  uint64_t key = 0;
  for (int i = 0; i < 8; ++i) key = (key << 8) | static_cast<unsigned char>((*digest)[i]);
  return key;
}

absl::Status CheckDirectory(const fs::path& dir) {
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (status.type() == fs::file_type::not_found) {
    return absl::NotFoundError(absl::StrCat(dir.string(), ": no such directory"));
  }
  if (ec) return UnreadableError(dir, ec);
  if (!fs::is_directory(status)) {
    return absl::FailedPreconditionError(absl::StrCat(dir.string(), ": not a directory"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string GroupOf(const fs::path& relative) {
  auto first = relative.begin();
  if (first == relative.end()) return "";
  if (std::next(first) != relative.end()) return first->string();
  return relative.stem().string();
}

bool IsHeldOut(absl::string_view text, double fraction) {
  if (!(fraction > 0)) return false;
  // key / 2^64 < fraction  ⇔  key < ceil(fraction · 2^64), computed exactly.
  const double threshold = std::ceil(std::ldexp(fraction, 64));
  if (threshold >= 0x1p64) return true;
  return SplitKey(text) < static_cast<uint64_t>(threshold);
}

absl::StatusOr<Corpus> LoadCorpus(const fs::path& dir, const CorpusOptions& options) {
  if (!(options.held_out_fraction >= 0 && options.held_out_fraction <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("held_out_fraction must be in [0, 1], got ", options.held_out_fraction));
  }
  TONTINE_RETURN_IF_ERROR(CheckDirectory(dir));
  Listing listing;
  TONTINE_RETURN_IF_ERROR(Walk(dir, fs::path(), listing));
  std::sort(listing.files.begin(), listing.files.end());

  Corpus corpus;
  corpus.warnings = std::move(listing.warnings);
  Loader loader(dir, options, corpus);
  for (const fs::path& relative : listing.files) {
    TONTINE_RETURN_IF_ERROR(loader.LoadFile(relative));
  }
  std::vector<Document> documents = loader.TakeDocuments();
  if (documents.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir.string(), ": no .txt or .jsonl documents"));
  }
  for (Document& doc : documents) {
    auto& side = IsHeldOut(doc.text, options.held_out_fraction) ? corpus.held_out : corpus.train;
    side.push_back(std::move(doc));
  }
  return corpus;
}

}  // namespace tontine::text
