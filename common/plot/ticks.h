// Axis ticks at "nice" numbers: steps of 1, 2 or 5 times a power of ten, so that an axis reads
// 0 5 10 15 20 rather than 0 4.3 8.6 (Heckbert, "Nice numbers for graph labels", Graphics
// Gems, 1990).
#ifndef TONTINE_COMMON_PLOT_TICKS_H_
#define TONTINE_COMMON_PLOT_TICKS_H_

#include <string>
#include <vector>

namespace tontine::plot {

struct Ticks {
  double min = 0;   // the axis starts here: a multiple of step, at or below the data
  double max = 1;   // the axis ends here: a multiple of step, at or above the data
  double step = 1;  // 1, 2 or 5 × 10^k
  int decimals = 0; // digits after the point that tell the labels apart
  std::vector<double> values;  // min, min + step, …, max: at most max_ticks of them
};

// Ticks covering [lo, hi] with at most `max_ticks` (taken as 3 when smaller) values and a step of at least
// `min_step` (e.g. 1 for round numbers; 0 = any). lo > hi are swapped; lo == hi is widened to
// a unit-sized range around it; a non-finite bound gives the axis [0, 1].
Ticks NiceTicks(double lo, double hi, int max_ticks = 6, double min_step = 0);

// `value` with `decimals` digits after the point; never "-0".
std::string FormatTick(double value, int decimals);

}  // namespace tontine::plot

#endif  // TONTINE_COMMON_PLOT_TICKS_H_
