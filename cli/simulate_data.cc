#include "cli/simulate_data.h"

#include <algorithm>
#include <map>
#include <utility>
#include <system_error>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/base/files.h"
#include "common/base/splitmix.h"
#include "common/base/status_macros.h"
#include "common/text/packing.h"
#include "spdlog/spdlog.h"

namespace tontine::cli {
namespace {

namespace fs = std::filesystem;

bool IsDirectory(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

// A stable 64-bit value per language name, so that a language's shuffle does not depend on
// which other languages take part.
uint64_t LanguageSalt(const std::string& language) {
  uint64_t h = 0;
  for (unsigned char c : language) h = SplitMix64(h ^ c);
  return h;
}

// Deals `documents` (shuffled by `seed` and `epoch`) round-robin to `m` hands; each hand keeps
// the documents' original order.
std::vector<std::vector<text::Document>> Deal(const std::vector<text::Document>& documents,
                                              size_t m, uint64_t seed, uint64_t epoch) {
  const std::vector<int64_t> order = text::ShuffledRowOrder(documents.size(), seed, epoch);
  std::vector<size_t> hand_of(documents.size());
  for (size_t j = 0; j < order.size(); ++j) hand_of[static_cast<size_t>(order[j])] = j % m;
  std::vector<std::vector<text::Document>> hands(m);
  for (size_t d = 0; d < documents.size(); ++d) hands[hand_of[d]].push_back(documents[d]);
  return hands;
}

}  // namespace

absl::StatusOr<fs::path> ResolveDataDir(const fs::path& configured, const fs::path& cwd,
                                        const fs::path& exe_dir) {
  if (!configured.empty()) {
    if (!IsDirectory(configured)) {
      return absl::NotFoundError(absl::StrCat("simulate.data: ", configured.string(),
                                              " is not a directory"));
    }
    return configured;
  }
  std::vector<fs::path> candidates = {cwd / kBundledCommunityData};
  for (fs::path dir = exe_dir; !dir.empty(); dir = dir.parent_path()) {
    candidates.push_back(dir / kBundledCommunityData);
    if (dir == dir.parent_path()) break;
  }
  for (const fs::path& candidate : candidates) {
    if (IsDirectory(candidate)) return candidate.lexically_normal();
  }
  return absl::NotFoundError(absl::StrCat(
      "simulate.data is not set and the bundled corpus (", kBundledCommunityData,
      ") is neither under ", cwd.string(), " nor above ", exe_dir.string(),
      "; set simulate.data in the experiment file"));
}

absl::StatusOr<std::vector<std::string>> ResolveLanguages(
    const fs::path& data_dir, const std::vector<std::string>& configured) {
  if (!configured.empty()) {
    for (const std::string& language : configured) {
      if (!IsDirectory(data_dir / language)) {
        return absl::NotFoundError(absl::StrCat("simulate.languages: ", language, ": ",
                                                (data_dir / language).string(),
                                                " is not a directory"));
      }
    }
    return configured;
  }
  std::vector<std::string> languages;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(data_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name[0] == '.' || !entry.is_directory(ec)) continue;
    languages.push_back(name);
  }
  if (ec) return ErrnoStatus(ec.value(), "cannot list", data_dir);
  if (languages.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        data_dir.string(), ": no language subdirectories (simulate.data needs one directory of "
                           "text per community language)"));
  }
  std::sort(languages.begin(), languages.end());
  return languages;
}

absl::StatusOr<std::vector<LanguageData>> LoadLanguages(const fs::path& data_dir,
                                                        const std::vector<std::string>& languages,
                                                        double held_out_fraction) {
  std::vector<LanguageData> loaded;
  for (const std::string& language : languages) {
    TONTINE_ASSIGN_OR_RETURN(
        text::Corpus corpus,
        text::LoadCorpus(data_dir / language, {.held_out_fraction = held_out_fraction}));
    for (auto* side : {&corpus.train, &corpus.held_out}) {
      for (text::Document& document : *side) document.group = language;
    }
    loaded.push_back({language, std::move(corpus.train), std::move(corpus.held_out)});
  }
  return loaded;
}

absl::StatusOr<std::vector<LanguageData>> LoadSimulatedLanguages(
    const fs::path& data_dir, const config::SimulateConfig& simulate, double held_out_fraction) {
  TONTINE_ASSIGN_OR_RETURN(std::vector<std::string> names,
                           ResolveLanguages(data_dir, simulate.languages));
  const size_t clients = static_cast<size_t>(std::max(simulate.clients, 1));
  if (names.size() > clients) {
    spdlog::warn("{} clients for {} languages: {} get no client and are left out", clients,
                 names.size(), absl::StrJoin(names.begin() + clients, names.end(), ", "));
    names.resize(clients);
  }
  TONTINE_ASSIGN_OR_RETURN(std::vector<LanguageData> languages,
                           LoadLanguages(data_dir, names, held_out_fraction));
  for (const LanguageData& language : languages) {
    if (language.held_out.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          (data_dir / language.language).string(), ": no document falls in the held-out split ",
          "(evaluation.held_out_fraction = ", held_out_fraction,
          "), so its perplexity cannot be measured; add text or raise the fraction"));
    }
  }
  return languages;
}

std::vector<text::Document> Pooled(const std::vector<LanguageData>& languages, bool held_out) {
  std::vector<text::Document> pooled;
  for (const LanguageData& language : languages) {
    const std::vector<text::Document>& side = held_out ? language.held_out : language.train;
    pooled.insert(pooled.end(), side.begin(), side.end());
  }
  return pooled;
}

std::vector<ClientSlice> SliceByLanguage(const std::vector<LanguageData>& languages, int clients,
                                         uint64_t seed) {
  const size_t l = languages.size();
  std::vector<ClientSlice> slices(static_cast<size_t>(clients));
  for (size_t k = 0; k < l; ++k) {
    // Clients k, k + L, k + 2L, … share language k.
    const size_t m = (static_cast<size_t>(clients) + l - 1 - k) / l;
    if (m == 0) continue;
    const LanguageData& language = languages[k];
    const uint64_t salt = LanguageSalt(language.language);
    std::vector<std::vector<text::Document>> train = Deal(language.train, m, seed, salt);
    std::vector<std::vector<text::Document>> held_out = Deal(language.held_out, m, seed, ~salt);
    for (size_t j = 0; j < m; ++j) {
      ClientSlice& slice = slices[k + j * l];
      slice.client = static_cast<int>(k + j * l);
      slice.language = language.language;
      slice.train = std::move(train[j]);
      slice.held_out = std::move(held_out[j]);
    }
  }
  return slices;
}

absl::Status CheckSlices(const std::vector<ClientSlice>& slices) {
  std::map<std::string, std::pair<int, size_t>> per_language;  // clients, training documents
  std::vector<std::string> starved;
  for (const ClientSlice& slice : slices) {
    auto& [clients, documents] = per_language[slice.language];
    ++clients;
    documents += slice.train.size();
    if (slice.train.empty()) starved.push_back(slice.language);
  }
  if (starved.empty()) return absl::OkStatus();
  const auto& [clients, documents] = per_language[starved.front()];
  return absl::FailedPreconditionError(absl::StrCat(
      "language '", starved.front(), "' has ", documents, " training document(s) for ", clients,
      " clients, so some client would have nothing to train on; lower simulate.clients or add "
      "text"));
}

absl::Status WriteSlice(const ClientSlice& slice, const fs::path& dir) {
  TONTINE_RETURN_IF_ERROR(MakeDirs(dir));
  std::string jsonl;
  for (const auto* side : {&slice.train, &slice.held_out}) {
    for (const text::Document& document : *side) {
      absl::StrAppend(&jsonl, nlohmann::json{{"text", document.text}}.dump(), "\n");
    }
  }
  return WriteFileAtomic(dir / absl::StrCat(slice.language, ".jsonl"), jsonl);
}

}  // namespace tontine::cli
