#include "server/http/archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "common/base/encoding.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/crypto/sha256.h"

namespace tontine::http {
namespace fs = std::filesystem;

namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

la_ssize_t AppendToString(archive*, void* client_data, const void* buffer, size_t length) {
  static_cast<std::string*>(client_data)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

absl::Status ArchiveError(archive* a, absl::string_view what) {
  return absl::InternalError(absl::StrCat("writing the adapter archive: ", what, ": ",
                                          archive_error_string(a) ? archive_error_string(a) : "?"));
}

}  // namespace

absl::StatusOr<std::string> ArchivePeftDir(const fs::path& version_dir, absl::string_view prefix,
                                           ArchiveFormat format) {
  std::string out;
  std::unique_ptr<archive, ArchiveDeleter> a(archive_write_new());
  if (a == nullptr) return absl::ResourceExhaustedError("archive_write_new failed");
  const int set = format == ArchiveFormat::kZip ? archive_write_set_format_zip(a.get())
                                                : archive_write_set_format_pax_restricted(a.get());
  if (set != ARCHIVE_OK) return ArchiveError(a.get(), "format");
  // Writes go straight to `out`, without libarchive's 10 KiB tar blocking padding beyond the
  // end-of-archive marker.
  archive_write_set_bytes_in_last_block(a.get(), 1);
  if (archive_write_open2(a.get(), &out, nullptr, &AppendToString, nullptr, nullptr) !=
      ARCHIVE_OK) {
    return ArchiveError(a.get(), "open");
  }
  for (const char* name : kPeftFiles) {
    const fs::path path = version_dir / name;
    TONTINE_ASSIGN_OR_RETURN(std::string contents, ReadFile(path));
    std::unique_ptr<archive_entry, EntryDeleter> entry(archive_entry_new());
    const std::string entry_name = absl::StrCat(prefix, "/", name);
    archive_entry_set_pathname(entry.get(), entry_name.c_str());
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(contents.size()));
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    std::error_code ec;
    const auto mtime = fs::last_write_time(path, ec);
    if (!ec) {
      const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::file_clock::to_sys(mtime).time_since_epoch());
      archive_entry_set_mtime(entry.get(), seconds.count(), 0);
    }
    if (archive_write_header(a.get(), entry.get()) != ARCHIVE_OK) {
      return ArchiveError(a.get(), entry_name);
    }
    if (archive_write_data(a.get(), contents.data(), contents.size()) !=
        static_cast<la_ssize_t>(contents.size())) {
      return ArchiveError(a.get(), entry_name);
    }
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) return ArchiveError(a.get(), "close");
  return out;
}

absl::Status ExportPeftDir(const fs::path& version_dir, const fs::path& out_dir,
                           const std::string& sha256) {
  for (const char* name : kPeftFiles) {
    std::error_code ec;
    if (fs::exists(out_dir / name, ec)) {
      return absl::FailedPreconditionError(absl::StrCat(
          (out_dir / name).string(), " already exists; export into an empty directory"));
    }
  }
  std::vector<std::pair<fs::path, std::string>> files;
  for (const char* name : kPeftFiles) {
    TONTINE_ASSIGN_OR_RETURN(std::string contents, ReadFile(version_dir / name));
    files.emplace_back(out_dir / name, std::move(contents));
  }
  TONTINE_ASSIGN_OR_RETURN(std::string digest, crypto::Sha256Digest(files[1].second));
  if (digest != sha256) {
    return absl::DataLossError(absl::StrCat((version_dir / kPeftFiles[1]).string(), " has SHA-256 ",
                                            HexEncode(digest), " but the state records ",
                                            HexEncode(sha256), " for it; nothing was exported"));
  }
  TONTINE_RETURN_IF_ERROR(MakeDirs(out_dir));
  for (const auto& [path, contents] : files) {
    TONTINE_RETURN_IF_ERROR(WriteFileAtomic(path, contents, 0644));
  }
  return absl::OkStatus();
}

}  // namespace tontine::http
