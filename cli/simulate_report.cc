#include "cli/simulate_report.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/report_plots.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/base/units.h"

namespace tontine::cli {
namespace {

namespace fs = std::filesystem;

nlohmann::json PerplexityJson(const std::optional<Evaluation>& evaluation) {
  if (!evaluation.has_value()) {
    return {{"macro_perplexity", nullptr},
            {"perplexity_by_language", nullptr},
            {"evaluation", nullptr}};
  }
  return {{"macro_perplexity", evaluation->macro_perplexity},
          {"perplexity_by_language", evaluation->perplexity_by_language},
          {"evaluation", evaluation->details}};
}

nlohmann::json RoundJson(const RoundRow& row) {
  nlohmann::json j = {{"round", row.round},
                      {"outcome", row.outcome},
                      {"reason", row.reason},
                      {"participants", row.participants},
                      {"dropped", row.dropped},
                      {"bytes_up", row.bytes_up},
                      {"bytes_down", row.bytes_down},
                      {"seconds", row.seconds},
                      {"adapter_version", nullptr},
                      {"coordinator_metrics", row.coordinator_metrics}};
  if (row.adapter_version.has_value()) j["adapter_version"] = *row.adapter_version;
  j.update(PerplexityJson(row.evaluation));
  return j;
}

// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string Number(double value, int decimals) {
  return std::isfinite(value) ? absl::StrFormat("%.*f", decimals, value) : "";
}

// One CSV row; absent values are empty fields.
struct CsvRow {
  std::string round, outcome, participants, dropped;
  const Evaluation* evaluation = nullptr;
  std::string bytes_up, bytes_down, seconds, steps, reason;
};

std::string CsvLine(const CsvRow& row, const std::vector<std::string>& languages) {
  std::vector<std::string> fields = {row.round, row.outcome, row.participants, row.dropped};
  fields.push_back(row.evaluation ? Number(row.evaluation->macro_perplexity, 4) : "");
  for (const std::string& language : languages) {
    std::string value;
    if (row.evaluation != nullptr) {
      auto it = row.evaluation->perplexity_by_language.find(language);
      if (it != row.evaluation->perplexity_by_language.end()) value = Number(it->second, 4);
    }
    fields.push_back(value);
  }
  for (const std::string* f : {&row.bytes_up, &row.bytes_down, &row.seconds, &row.steps,
                               &row.reason}) {
    fields.push_back(*f);
  }
  for (std::string& f : fields) f = CsvField(f);
  return absl::StrCat(absl::StrJoin(fields, ","), "\n");
}

// "ppl bre 14.2 hau 12.9 macro 13.6"
std::string PerplexityText(const Evaluation& evaluation) {
  std::string text = "ppl";
  for (const auto& [language, perplexity] : evaluation.perplexity_by_language) {
    absl::StrAppendFormat(&text, " %s %.1f", language, perplexity);
  }
  absl::StrAppendFormat(&text, " macro %.1f", evaluation.macro_perplexity);
  return text;
}

std::string RoundLabel(int round, int rounds_planned) {
  const int width = static_cast<int>(absl::StrCat(rounds_planned).size());
  return absl::StrFormat("round %*d/%d", width, round, rounds_planned);
}

std::string PercentChange(double from, double to) {
  return from > 0 ? absl::StrFormat("%+.1f %%", 100.0 * (to - from) / from) : "n/a";
}

}  // namespace

nlohmann::json ReportJson(const SimulateReport& report) {
  nlohmann::json rounds = nlohmann::json::array();
  for (const RoundRow& row : report.rounds) rounds.push_back(RoundJson(row));
  nlohmann::json j = {{"experiment", report.experiment},
                      {"config", report.config},
                      {"overrides", report.overrides},
                      {"started", report.started},
                      {"clients", report.clients},
                      {"rounds_planned", report.rounds_planned},
                      {"languages", report.languages},
                      {"client_languages", report.client_languages},
                      {"client_restarts", report.client_restarts},
                      {"base", PerplexityJson(report.base)},
                      {"rounds", rounds}};
  if (report.centralized.has_value()) {
    const CentralizedRow& c = *report.centralized;
    j["centralized"] = PerplexityJson(c.evaluation);
    j["centralized"].update({{"steps", c.steps}, {"sequences", c.sequences},
                             {"seconds", c.seconds}});
  }
  return j;
}

std::string ReportCsv(const SimulateReport& report) {
  std::vector<std::string> header = {"round", "outcome", "participants", "dropped",
                                     "macro_perplexity"};
  for (const std::string& language : report.languages) {
    header.push_back(absl::StrCat("perplexity_", language));
  }
  for (const char* name : {"bytes_up", "bytes_down", "seconds", "steps", "reason"}) {
    header.push_back(name);
  }
  std::string csv = absl::StrCat(absl::StrJoin(header, ","), "\n");
  if (report.base.has_value()) {
    absl::StrAppend(&csv, CsvLine({.round = "base", .evaluation = &*report.base}, report.languages));
  }
  for (const RoundRow& row : report.rounds) {
    absl::StrAppend(
        &csv, CsvLine({.round = absl::StrCat(row.round),
                       .outcome = row.outcome,
                       .participants = absl::StrCat(row.participants),
                       .dropped = absl::StrCat(row.dropped),
                       .evaluation = row.evaluation ? &*row.evaluation : nullptr,
                       .bytes_up = absl::StrCat(row.bytes_up),
                       .bytes_down = absl::StrCat(row.bytes_down),
                       .seconds = Number(row.seconds, 1),
                       .reason = row.reason},
                      report.languages));
  }
  if (report.centralized.has_value()) {
    const CentralizedRow& c = *report.centralized;
    absl::StrAppend(&csv, CsvLine({.round = "centralized",
                                   .evaluation = &c.evaluation,
                                   .seconds = Number(c.seconds, 1),
                                   .steps = absl::StrCat(c.steps)},
                                  report.languages));
  }
  return csv;
}

absl::Status WriteReport(const SimulateReport& report, const fs::path& dir) {
  TONTINE_RETURN_IF_ERROR(WriteFileAtomic(dir / "report.json", ReportJson(report).dump(2) + "\n"));
  TONTINE_RETURN_IF_ERROR(WriteFileAtomic(dir / "report.csv", ReportCsv(report)));
  return WriteFileAtomic(dir / "perplexity.svg",
                         plot::RenderLineChart(SimulatePerplexityChart(report)));
}

std::string FormatEvaluationLine(absl::string_view label, const Evaluation& evaluation,
                                 int rounds_planned) {
  const size_t width = RoundLabel(rounds_planned, rounds_planned).size();
  return absl::StrFormat("%-*s  %s", static_cast<int>(width), label, PerplexityText(evaluation));
}

std::string FormatRoundLine(const RoundRow& row, int rounds_planned) {
  const int width = static_cast<int>(RoundLabel(rounds_planned, rounds_planned).size());
  const std::string label = row.committed > 0 ? RoundLabel(row.committed, rounds_planned)
                                              : absl::StrFormat("%-*s", width, row.outcome);
  std::string line = absl::StrFormat("%s  %d participants  %d dropped  ", label,
                                     row.participants, row.dropped);
  if (row.evaluation.has_value()) {
    absl::StrAppend(&line, PerplexityText(*row.evaluation));
  } else if (row.committed > 0) {
    absl::StrAppend(&line, "(no adapter to evaluate)");
  } else {
    absl::StrAppend(&line, "(", row.reason.empty() ? "no reason recorded" : row.reason, ")");
  }
  absl::StrAppendFormat(&line, "  up %s down %s  %.1f s",
                        FormatByteSize(static_cast<uint64_t>(std::max<int64_t>(row.bytes_up, 0))),
                        FormatByteSize(static_cast<uint64_t>(std::max<int64_t>(row.bytes_down, 0))),
                        row.seconds);
  return line;
}

std::string FormatSummary(const SimulateReport& report) {
  int committed = 0, aborted = 0, dropped = 0;
  const RoundRow* last = nullptr;
  for (const RoundRow& row : report.rounds) {
    dropped += row.dropped;
    if (row.outcome != "committed") {
      ++aborted;
      continue;
    }
    ++committed;
    if (row.evaluation.has_value()) last = &row;
  }
  std::string text;
  const double base = report.base ? report.base->macro_perplexity : 0;
  if (report.base.has_value() && last != nullptr) {
    absl::StrAppendFormat(&text, "macro perplexity: base %.2f → %.2f after round %d (%s)\n",
                          base, last->evaluation->macro_perplexity, last->committed,
                          PercentChange(base, last->evaluation->macro_perplexity));
  } else {
    absl::StrAppend(&text, "no round committed an adapter\n");
  }
  absl::StrAppendFormat(&text, "%d round(s) committed, %d aborted; %d dropout(s), %d client "
                               "restart(s)\n",
                        committed, aborted, dropped, report.client_restarts);
  if (report.centralized.has_value()) {
    const CentralizedRow& c = *report.centralized;
    absl::StrAppendFormat(&text,
                          "centralized on the pooled data: %.2f (%s from base) after %d steps "
                          "(%d sequences) in %.1f s\n",
                          c.evaluation.macro_perplexity,
                          PercentChange(base, c.evaluation.macro_perplexity), c.steps,
                          c.sequences, c.seconds);
  }
  return text;
}

}  // namespace tontine::cli
