// The data side of `tontine simulate`: which community languages take part, each language's
// documents split into train and held-out exactly as the clients split them, and one data
// directory per client (a non-IID slice: one language per client).
//
// The split is text::IsHeldOut on each document's text alone, so a document held out of the
// pooled language directory is held out of whichever client slice holds it too: the
// coordinator's clients and `simulate`'s own evaluation agree on what is held out.
#ifndef TONTINE_CLI_SIMULATE_DATA_H_
#define TONTINE_CLI_SIMULATE_DATA_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/config/experiment_config.h"
#include "common/text/corpus.h"

namespace tontine::cli {

// The bundled corpus, relative to the source tree (and to the directory simulate runs in).
inline constexpr char kBundledCommunityData[] = "examples/data/community";

// simulate.data when set (config::LoadExperimentConfig has resolved it against the experiment
// file). When empty, the bundled corpus: kBundledCommunityData under `cwd`, then under each
// ancestor of `exe_dir` (a build tree's bin/ lies below the source root). NOT_FOUND naming
// every place looked at.
absl::StatusOr<std::filesystem::path> ResolveDataDir(const std::filesystem::path& configured,
                                                     const std::filesystem::path& cwd,
                                                     const std::filesystem::path& exe_dir);

// `configured` (simulate.languages) when not empty, else every subdirectory of `data_dir` in
// byte-wise name order, skipping hidden ones. NOT_FOUND naming the directory of a configured
// language that is missing; FAILED_PRECONDITION when `data_dir` has no subdirectory.
absl::StatusOr<std::vector<std::string>> ResolveLanguages(
    const std::filesystem::path& data_dir, const std::vector<std::string>& configured);

struct LanguageData {
  std::string language;
  std::vector<text::Document> train;     // Document::group is the language
  std::vector<text::Document> held_out;  // the same
};

// Loads `data_dir`/<language> for each language with text::LoadCorpus at `held_out_fraction`
// (LoadCorpus's errors name the file and line).
absl::StatusOr<std::vector<LanguageData>> LoadLanguages(const std::filesystem::path& data_dir,
                                                        const std::vector<std::string>& languages,
                                                        double held_out_fraction);

// The languages a run uses, loaded: ResolveLanguages(data_dir, simulate.languages), cut to
// the first simulate.clients (a warning names the languages left without a client), each
// loaded by LoadLanguages. FAILED_PRECONDITION naming the directory of a language with no
// held-out document (its perplexity could not be measured).
absl::StatusOr<std::vector<LanguageData>> LoadSimulatedLanguages(
    const std::filesystem::path& data_dir, const config::SimulateConfig& simulate,
    double held_out_fraction);

// Every document of one side of `languages`, in language order: the pooled held-out set that
// `simulate` evaluates on, or the pooled training set of the centralized baseline.
std::vector<text::Document> Pooled(const std::vector<LanguageData>& languages, bool held_out);

struct ClientSlice {
  int client = 0;
  std::string language;
  std::vector<text::Document> train;     // in the language's document order
  std::vector<text::Document> held_out;  // the same
};

// Client i gets languages[i mod L]. The m clients of one language share its documents: the
// training documents, shuffled by (seed, language), are dealt round-robin, and so are the
// held-out ones, so every client holds about 1/m of each side and no document is in two
// slices. Depends only on the arguments. REQUIRES: clients ≥ 1, languages not empty.
std::vector<ClientSlice> SliceByLanguage(const std::vector<LanguageData>& languages, int clients,
                                         uint64_t seed);

// FAILED_PRECONDITION naming the language and the counts when a client was dealt no training
// document (more clients share a language than it has training documents).
absl::Status CheckSlices(const std::vector<ClientSlice>& slices);

// Writes `slice` into `dir` (created) as one file, <language>.jsonl, of {"text": …} lines in
// the slice's order, training documents first. The texts are written byte for byte, so each
// lands on the same side of the split when the client loads `dir`.
absl::Status WriteSlice(const ClientSlice& slice, const std::filesystem::path& dir);

}  // namespace tontine::cli

#endif  // TONTINE_CLI_SIMULATE_DATA_H_
