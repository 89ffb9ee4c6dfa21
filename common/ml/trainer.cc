#include "common/ml/trainer.h"

#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/base/splitmix.h"
#include "spdlog/spdlog.h"

namespace tontine::ml {
namespace {

// Where training stands; all of it goes into the checkpoint.
struct Cursor {
  int step = 0;         // optimiser steps done
  uint64_t epoch = 0;   // pass over the rows
  int64_t position = 0; // next row within the epoch's order
};

// Identifies a run, so that a checkpoint from a different run is never resumed: every
// schedule field (doubles at full precision), the data's shape and the parameters' shapes.
std::string Fingerprint(const text::PackedSequences& data, const TrainOptions& options,
                        const std::vector<torch::Tensor>& params) {
  const config::LocalTrainingConfig& s = options.schedule;
  std::string f = absl::StrFormat(
      "v3 rows=%d L=%d steps=%d batch=%d acc=%d opt=%d lr=%a schedule=%d warmup=%d wd=%a "
      "clip=%a seed=%d",
      data.rows(), data.sequence_length, s.steps, s.batch_size, s.gradient_accumulation,
      static_cast<int>(s.optimizer), s.learning_rate, static_cast<int>(s.schedule), s.warmup_steps, s.weight_decay,
      s.gradient_clip, s.seed);
  for (const auto& p : params) absl::StrAppend(&f, " ", c10::str(p.sizes()));
  return f;
}

// Takes the next `count` rows in the shuffled order, moving to a new epoch when one ends.
std::vector<int64_t> NextRows(const text::PackedSequences& data, uint64_t seed, int count,
                              Cursor& cursor, std::vector<int64_t>& order) {
  std::vector<int64_t> rows;
  while (static_cast<int>(rows.size()) < count) {
    if (order.empty() || cursor.position >= static_cast<int64_t>(order.size())) {
      if (!order.empty()) {
        ++cursor.epoch;
        cursor.position = 0;
      }
      order = text::ShuffledRowOrder(data.rows(), seed, cursor.epoch);
    }
    rows.push_back(order[static_cast<size_t>(cursor.position++)]);
  }
  return rows;
}

void SaveCheckpoint(const std::filesystem::path& path, const std::string& fingerprint,
                    const Cursor& cursor, const std::vector<torch::Tensor>& params,
                    torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  archive.write("fingerprint", c10::IValue(fingerprint));
  archive.write("cursor", torch::tensor({static_cast<int64_t>(cursor.step),
                                          static_cast<int64_t>(cursor.epoch), cursor.position}));
  for (size_t i = 0; i < params.size(); ++i) archive.write(absl::StrCat("param.", i), params[i]);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  // Write beside, then rename: a crash mid-save keeps the previous checkpoint.
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  archive.save_to(tmp.string());
  std::filesystem::rename(tmp, path);
}

// Restores a matching checkpoint; returns false (starting fresh) when there is none or it
// belongs to another run or cannot be read.
bool LoadCheckpoint(const std::filesystem::path& path, const std::string& fingerprint,
                    Cursor& cursor, const std::vector<torch::Tensor>& params,
                    torch::optim::Optimizer& optimizer) {
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec)) return false;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    c10::IValue stored;
    archive.read("fingerprint", stored);
    if (!stored.isString() || stored.toStringRef() != fingerprint) {
      spdlog::warn("{}: checkpoint is from a different run; starting afresh", path.string());
      return false;
    }
    torch::Tensor c;
    archive.read("cursor", c);
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < params.size(); ++i) {
      torch::Tensor t;
      archive.read(absl::StrCat("param.", i), t);
      params[i].copy_(t);
    }
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    cursor = {static_cast<int>(c[0].item<int64_t>()), static_cast<uint64_t>(c[1].item<int64_t>()),
              c[2].item<int64_t>()};
    return true;
  } catch (const c10::Error& e) {
    spdlog::warn("{}: unreadable checkpoint ({}); starting afresh", path.string(), e.what_without_backtrace());
    return false;
  }
}

}  // namespace

double LearningRateAt(const config::LocalTrainingConfig& s, int step) {
  if (step < s.warmup_steps) {
    return s.learning_rate * (step + 1) / static_cast<double>(s.warmup_steps);
  }
  if (s.schedule == config::Schedule::kConstant) return s.learning_rate;
  const int decay_steps = std::max(1, s.steps - s.warmup_steps);
  const double progress = static_cast<double>(step - s.warmup_steps) / decay_steps;
  return s.learning_rate * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
}

Batch MakeBatch(const text::PackedSequences& data, const std::vector<int64_t>& rows) {
  const int64_t n = static_cast<int64_t>(rows.size()), len = data.sequence_length;
  auto tokens = torch::empty({n, len + 1}, torch::kInt64);
  auto mask = torch::empty({n, len}, torch::kFloat32);
  auto* tp = tokens.data_ptr<int64_t>();
  auto* mp = mask.data_ptr<float>();
  for (int64_t r = 0; r < n; ++r) {
    const int64_t row = rows[static_cast<size_t>(r)];
    for (int64_t i = 0; i <= len; ++i) tp[r * (len + 1) + i] = data.Token(row, i);
    for (int64_t i = 0; i < len; ++i) mp[r * len + i] = data.TargetCounts(row, i) ? 1.f : 0.f;
  }
  return {tokens.narrow(1, 0, len), tokens.narrow(1, 1, len), mask};
}

absl::StatusOr<TrainResult> Train(CausalLm& model, const text::PackedSequences& data,
                                  const TrainOptions& options, const TrainHooks& hooks) {
  std::vector<torch::Tensor> params;
  for (const auto& p : model->parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  if (params.empty()) return absl::InvalidArgumentError("no parameter requires grad");
  if (data.rows() == 0) return absl::InvalidArgumentError("no training sequences");
  const config::LocalTrainingConfig& s = options.schedule;
  std::unique_ptr<torch::optim::Optimizer> optimizer_owner;
  if (s.optimizer == config::LocalOptimizer::kSgd) {
    optimizer_owner = std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(s.learning_rate).weight_decay(s.weight_decay));
  } else {
    optimizer_owner = std::make_unique<torch::optim::AdamW>(
        params, torch::optim::AdamWOptions(s.learning_rate).weight_decay(s.weight_decay));
  }
  torch::optim::Optimizer& optimizer = *optimizer_owner;
  const std::string fingerprint = Fingerprint(data, options, params);
  Cursor cursor;
  TrainResult result;
  if (LoadCheckpoint(options.checkpoint, fingerprint, cursor, params, optimizer)) {
    result.resumed_at = cursor.step;
    spdlog::info("resuming from {} at step {}", options.checkpoint.string(), cursor.step);
  }
  std::vector<int64_t> order;  // NextRows rebuilds it from (seed, epoch) when empty
  model->train();
  const absl::Time start = absl::Now();
  while (cursor.step < s.steps) {
    if (hooks.should_abort && hooks.should_abort()) {
      result.aborted = true;
      break;
    }
    const double lr = LearningRateAt(s, cursor.step);
    for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
    optimizer.zero_grad();
    // LoRA dropout draws from torch's global generator: seed it from (seed, step) so that a run
    // is reproducible and a resumed run draws what the uninterrupted one would have.
    torch::manual_seed(SplitMix64(s.seed ^ SplitMix64(static_cast<uint64_t>(cursor.step))));
    double step_loss = 0;
    for (int micro = 0; micro < s.gradient_accumulation; ++micro) {
      Batch batch = MakeBatch(data, NextRows(data, s.seed, s.batch_size, cursor, order));
      const double tokens = std::max(1.0, batch.mask.sum().item<double>());
      torch::Tensor loss = model->NllSum(batch.inputs, batch.targets, batch.mask) / tokens;
      (loss / s.gradient_accumulation).backward();
      step_loss += loss.item<double>() / s.gradient_accumulation;
      result.tokens += static_cast<int64_t>(tokens);
    }
    if (s.gradient_clip > 0) torch::nn::utils::clip_grad_norm_(params, s.gradient_clip);
    optimizer.step();
    ++cursor.step;
    ++result.steps_done;
    result.last_loss = step_loss;
    const double seconds = std::max(1e-9, absl::ToDoubleSeconds(absl::Now() - start));
    result.tokens_per_second = result.tokens / seconds;
    if (hooks.on_step) {
      const double per_step = seconds / result.steps_done;
      hooks.on_step({cursor.step, s.steps, step_loss, lr, result.tokens_per_second,
                     absl::Seconds(per_step * (s.steps - cursor.step))});
    }
    if (!options.checkpoint.empty() && options.checkpoint_every > 0 &&
        cursor.step % options.checkpoint_every == 0 && cursor.step < s.steps) {
      SaveCheckpoint(options.checkpoint, fingerprint, cursor, params, optimizer);
    }
  }
  model->eval();
  if (!options.checkpoint.empty()) {
    if (result.aborted) {
      SaveCheckpoint(options.checkpoint, fingerprint, cursor, params, optimizer);
    } else {
      std::error_code ec;
      std::filesystem::remove(options.checkpoint, ec);  // finished: nothing to resume
    }
  }
  return result;
}

}  // namespace tontine::ml
