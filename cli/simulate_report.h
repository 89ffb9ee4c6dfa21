// What `tontine simulate` reports: one line per round on stdout, and DIR/report.json,
// DIR/report.csv with the base model, every round and the centralized baseline, and
// DIR/perplexity.svg, their chart (cli/report_plots.h).
//
// report.json:
//   {"experiment", "config", "overrides" (the --set flags), "started", "clients", "rounds_planned", "languages",
//    "client_languages", "client_restarts",
//    "base":        {"macro_perplexity", "perplexity_by_language", "evaluation"},
//    "rounds":      [{"round" (the coordinator's number), "outcome", "reason", "participants", "dropped",
//                     "macro_perplexity", "perplexity_by_language", "bytes_up", "bytes_down",
//                     "seconds", "adapter_version", "evaluation", "coordinator_metrics"}…],
//    "centralized": {"macro_perplexity", "perplexity_by_language", "steps", "sequences",
//                    "seconds", "evaluation"}}             (only with --centralized)
// Perplexities of an aborted round are null. "evaluation" is `tontine eval --json`'s object
// (tokens, NLL, bits per byte per language).
// report.csv: a header, then one row for the base model (round "base"), one per round and one
// for the centralized baseline (round "centralized"), with the JSON's scalar columns and one
// perplexity_<language> column per language.
#ifndef TONTINE_CLI_SIMULATE_REPORT_H_
#define TONTINE_CLI_SIMULATE_REPORT_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace tontine::cli {

// Held-out perplexity of one model on every simulated language.
struct Evaluation {
  double macro_perplexity = 0;  // the unweighted mean over languages
  std::map<std::string, double> perplexity_by_language;
  nlohmann::json details;  // EvalJson: tokens, NLL, bits per byte per language
};

struct RoundRow {
  int round = 0;        // the coordinator's round number (aborted attempts take one too)
  int committed = 0;    // 1-based among the committed rounds; 0 for an aborted one
  std::string outcome;  // "committed" or "aborted"
  std::string reason;   // why it aborted ("" when committed)
  int participants = 0;
  int dropped = 0;
  std::optional<Evaluation> evaluation;  // of the adapter it committed
  int64_t bytes_up = 0;
  int64_t bytes_down = 0;
  double seconds = 0;
  std::optional<int64_t> adapter_version;
  nlohmann::json coordinator_metrics;  // the round's metrics_json; null when empty
};

struct CentralizedRow {
  Evaluation evaluation;
  int steps = 0;
  int64_t sequences = 0;  // steps × batch_size × gradient_accumulation
  double seconds = 0;
};

struct SimulateReport {
  std::string experiment;
  std::string config;   // the experiment file, absolute
  std::vector<std::string> overrides;  // the --set flags applied to it, as given
  std::string started;  // UTC, RFC 3339
  int clients = 0;
  int rounds_planned = 0;
  std::vector<std::string> languages;
  std::vector<std::string> client_languages;  // [clients]
  int client_restarts = 0;
  std::optional<Evaluation> base;
  std::vector<RoundRow> rounds;
  std::optional<CentralizedRow> centralized;
};

nlohmann::json ReportJson(const SimulateReport& report);
std::string ReportCsv(const SimulateReport& report);

// Writes report.json, report.csv and perplexity.svg into `dir`, each atomically. Errors name
// the file.
absl::Status WriteReport(const SimulateReport& report, const std::filesystem::path& dir);

// "base         ppl bre 21.3 hau 19.8 … macro 20.4": `label` padded to the width of a round's.
std::string FormatEvaluationLine(absl::string_view label, const Evaluation& evaluation,
                                 int rounds_planned);
// "round  3/10  8 participants  0 dropped  ppl bre 14.2 … macro 13.6  up 1.2 MB down 900.0 KB
//  21.4 s", counting committed rounds against rounds_planned; an aborted round is labelled
// "aborted" and shows its reason instead of perplexities.
std::string FormatRoundLine(const RoundRow& row, int rounds_planned);
// The closing lines: base → final macro perplexity and its change, the centralized baseline,
// dropouts and restarts.
std::string FormatSummary(const SimulateReport& report);

}  // namespace tontine::cli

#endif  // TONTINE_CLI_SIMULATE_REPORT_H_
