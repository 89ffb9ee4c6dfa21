// The charts `tontine simulate` and `tontine eval` write beside their numbers, as standalone
// SVG files any browser opens (common/plot/chart.h). Torch-free.
#ifndef TONTINE_CLI_REPORT_PLOTS_H_
#define TONTINE_CLI_REPORT_PLOTS_H_

#include <string>
#include <vector>

#include "cli/simulate_report.h"
#include "common/plot/chart.h"

namespace tontine::cli {

// simulate's DIR/perplexity.svg: held-out perplexity against the committed round (0 = the
// base model), one line per language in report.languages, the macro average emphasised, and
// the centralized baseline's macro perplexity as a dashed horizontal line when it ran.
// Aborted rounds have no point; a round without an evaluation neither.
plot::LineChart SimulatePerplexityChart(const SimulateReport& report);

// One group (language) that `tontine eval` scored.
struct GroupPerplexity {
  std::string group;
  double perplexity = 0;
};

// eval --svg: a bar per group, and the macro average (the unweighted mean over groups) as a
// dashed line when there are several groups. `model` names what was scored ("bundled",
// "bundled + wol-adapter") and `split` which documents.
plot::BarChart EvalPerplexityChart(const std::vector<GroupPerplexity>& groups, double macro,
                                   const std::string& model, const std::string& split);

}  // namespace tontine::cli

#endif  // TONTINE_CLI_REPORT_PLOTS_H_
