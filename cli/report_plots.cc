#include "cli/report_plots.h"

#include <map>

#include "absl/strings/str_cat.h"

namespace tontine::cli {

plot::LineChart SimulatePerplexityChart(const SimulateReport& report) {
  plot::LineChart chart;
  chart.title = absl::StrCat(report.experiment, ": held-out perplexity per round");
  chart.x_label = "round (0 = base model)";
  chart.y_label = "perplexity (held-out)";
  chart.integer_x = true;
  // (round, evaluation) for the base model and every committed round that was scored.
  std::vector<std::pair<int, const Evaluation*>> scored;
  if (report.base.has_value()) scored.emplace_back(0, &*report.base);
  for (const RoundRow& row : report.rounds) {
    if (row.committed > 0 && row.evaluation.has_value()) {
      scored.emplace_back(row.committed, &*row.evaluation);
    }
  }
  for (const std::string& language : report.languages) {
    plot::LineSeries series{.name = language};
    for (const auto& [round, evaluation] : scored) {
      auto it = evaluation->perplexity_by_language.find(language);
      if (it != evaluation->perplexity_by_language.end()) {
        series.points.push_back({static_cast<double>(round), it->second});
      }
    }
    chart.series.push_back(std::move(series));
  }
  plot::LineSeries macro{.name = "macro average", .emphasised = true};
  for (const auto& [round, evaluation] : scored) {
    macro.points.push_back({static_cast<double>(round), evaluation->macro_perplexity});
  }
  chart.series.push_back(std::move(macro));
  if (report.centralized.has_value()) {
    chart.references.push_back(
        {"centralized (macro)", report.centralized->evaluation.macro_perplexity});
  }
  return chart;
}

plot::BarChart EvalPerplexityChart(const std::vector<GroupPerplexity>& groups, double macro,
                                   const std::string& model, const std::string& split) {
  plot::BarChart chart;
  chart.title = absl::StrCat("Perplexity of ", model, " (", split, " split)");
  chart.x_label = "language (group)";
  chart.y_label = "perplexity";
  for (const GroupPerplexity& g : groups) chart.bars.push_back({g.group, g.perplexity});
  if (groups.size() > 1) chart.references.push_back({"macro average", macro});
  return chart;
}

}  // namespace tontine::cli
