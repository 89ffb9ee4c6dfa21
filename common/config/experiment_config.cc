#include "common/config/experiment_config.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/base/encoding.h"
#include "common/config/checks.h"
#include "common/config/shared_keys.h"

namespace tontine::config {
namespace {

constexpr int kMaxParticipants = 100'000;

// A number in [0, 1).
constexpr NumberRange kUnitHalfOpen{0, 1, false, true};
// A number > 0.
constexpr NumberRange kPositive{0, std::numeric_limits<double>::max(), true, false};

void ReadModel(MapReader r, ModelConfig& c) {
  ReadBundledOrDir(r, "base", &c.base_dir);
  r.String("sha256", &c.sha256, [](absl::string_view s) -> std::optional<std::string> {
    if (s.empty() || (s.size() == 64 && HexDecode(s).has_value())) return std::nullopt;
    return "expected 64 hex digits (a SHA-256)";
  });
  r.Enum<TokenizerKind>("tokenizer", &c.tokenizer,
                        {{"byte", TokenizerKind::kByte}, {"hf", TokenizerKind::kHuggingFace}});
  r.Finish();
}

void ReadLora(MapReader r, LoraConfig& c) {
  r.Integer("rank", &c.rank, 1, 1024);
  r.Number("alpha", &c.alpha, kPositive);
  r.Number("dropout", &c.dropout, kUnitHalfOpen);
  r.StringList("target_modules", &c.target_modules, kLoraTargetModules, 1);
  r.Integer<uint64_t>("seed", &c.seed, 0, std::numeric_limits<int64_t>::max());
  r.Finish();
}

void ReadRounds(MapReader r, RoundsConfig& c) {
  r.Integer("count", &c.count, 1, 100'000);
  r.Number("target_perplexity", &c.target_perplexity, {0});
  r.Finish();
}

void ReadCohort(MapReader r, CohortConfig& c) {
  r.Integer("min_participants", &c.min_participants, 2, kMaxParticipants);
  r.Integer("max_participants", &c.max_participants, 2, kMaxParticipants);
  r.Enum<Sampling>("sampling", &c.sampling,
                   {{"random", Sampling::kRandom}, {"round_robin", Sampling::kRoundRobin}});
  r.StringListMap("filter", &c.filter);
  r.Finish();
}

void ReadLocalTraining(MapReader r, LocalTrainingConfig& c) {
  r.Integer("steps", &c.steps, 1, 100'000);
  r.Integer("batch_size", &c.batch_size, 1, 4096);
  r.Integer("gradient_accumulation", &c.gradient_accumulation, 1, 1024);
  r.Integer("sequence_length", &c.sequence_length, 8, 32768);
  r.Enum<LocalOptimizer>("optimizer", &c.optimizer,
                         {{"adamw", LocalOptimizer::kAdamW}, {"sgd", LocalOptimizer::kSgd}});
  r.Number("learning_rate", &c.learning_rate, {0, 1000, true, false});
  r.Enum<Schedule>("schedule", &c.schedule,
                   {{"constant", Schedule::kConstant}, {"cosine", Schedule::kCosine}});
  r.Integer("warmup_steps", &c.warmup_steps, 0, 100'000);
  r.Number("weight_decay", &c.weight_decay, {0});
  r.Number("gradient_clip", &c.gradient_clip, {0});
  r.Integer<uint64_t>("seed", &c.seed, 0, std::numeric_limits<int64_t>::max());
  r.Finish();
}

void ReadAggregation(MapReader r, AggregationConfig& c) {
  r.Enum<AggregationRule>("rule", &c.rule,
                          {{"ffa", AggregationRule::kFfa},
                           {"alternating", AggregationRule::kAlternating},
                           {"fedit", AggregationRule::kFedIt}});
  r.Enum<ServerOptimizer>("server_optimizer", &c.server_optimizer,
                          {{"fedavg", ServerOptimizer::kFedAvg},
                           {"fedavgm", ServerOptimizer::kFedAvgM},
                           {"fedadam", ServerOptimizer::kFedAdam},
                           {"fedyogi", ServerOptimizer::kFedYogi}});
  r.Number("server_learning_rate", &c.server_learning_rate, kPositive);
  r.Number("momentum", &c.momentum, kUnitHalfOpen);
  r.Number("beta1", &c.beta1, kUnitHalfOpen);
  r.Number("beta2", &c.beta2, kUnitHalfOpen);
  r.Number("epsilon", &c.epsilon, kPositive);
  r.Enum<Weighting>("weighting", &c.weighting,
                    {{"tokens", Weighting::kTokens}, {"uniform", Weighting::kUniform}});
  r.Number("max_weight", &c.max_weight, kPositive);
  r.Finish();
}

void ReadSecAgg(MapReader r, SecAggConfig& c) {
  r.Integer("bits", &c.bits, 8, 24);
  r.Number("clip_l2", &c.clip_l2, kPositive);
  r.Number("clip_linf", &c.clip_linf, kPositive);
  r.IntegerOrAuto("neighbours", &c.neighbours, 1, kMaxParticipants);
  r.IntegerOrAuto("reconstruction_threshold", &c.reconstruction_threshold, 2, kMaxParticipants);
  r.Number("expected_dropout", &c.expected_dropout, {0, 0.5, false, true});
  r.Number("corrupt_fraction", &c.corrupt_fraction, {0, 0.5, false, true});
  r.Enum<PrgChoice>("prg", &c.prg,
                    {{"auto", PrgChoice::kAuto},
                     {"aes256-ctr", PrgChoice::kAes256Ctr},
                     {"chacha20", PrgChoice::kChaCha20}});
  r.Finish();
}

void ReadDeadlines(MapReader r, DeadlinesConfig& c) {
  const absl::Duration kMax = absl::Hours(24 * 7);
  r.Duration("cohort", &c.cohort, absl::Seconds(1), kMax);
  r.Duration("advertise_keys", &c.advertise_keys, absl::Milliseconds(100), kMax);
  r.Duration("share_keys", &c.share_keys, absl::Milliseconds(100), kMax);
  r.Duration("masked_input", &c.masked_input, absl::Seconds(1), kMax);
  r.Duration("unmask", &c.unmask, absl::Milliseconds(100), kMax);
  r.Finish();
}

void ReadEvaluation(MapReader r, EvaluationConfig& c) {
  r.Number("held_out_fraction", &c.held_out_fraction, {0, 1, true, true});
  r.String("group_by_tag", &c.group_by_tag, CheckName);
  r.Finish();
}

void ReadSimulate(MapReader r, SimulateConfig& c) {
  r.Integer("clients", &c.clients, 1, 1000);
  r.Path("data", &c.data_dir, PathKind::kExistingDir);
  r.StringList("languages", &c.languages);
  r.MapOrMapList("dropout", [&c](MapReader& item) {
    SimulatedDropout d;
    item.Require("phase");
    item.Enum<SimulatedPhase>("phase", &d.phase,
                              {{"advertise_keys", SimulatedPhase::kAdvertiseKeys},
                               {"share_keys", SimulatedPhase::kShareKeys},
                               {"training", SimulatedPhase::kTraining},
                               {"masked_input", SimulatedPhase::kMaskedInput},
                               {"unmask", SimulatedPhase::kUnmask}});
    item.Require("probability");
    item.Number("probability", &d.probability, {0, 1});
    c.dropout.push_back(d);
  });
  r.Integer("threads_per_client", &c.threads_per_client, 1, 256);
  r.Integer<uint64_t>("seed", &c.seed, 0, std::numeric_limits<int64_t>::max());
  r.Finish();
}

// Rules that involve more than one key. Each error is placed on the first key it names.
void CheckCrossField(ConfigFile& file, const ExperimentConfig& c) {
  // Placed on `key` when it is in the file, else on `other` (the other key of the rule).
  auto error = [&file](absl::string_view key, std::string message,
                       absl::string_view other = "") {
    Position where = file.Where(key);
    if (where.line <= 1 && !other.empty()) where = file.Where(other);
    file.AddError(where, absl::StrCat(key, ": ", message));
  };
  const CohortConfig& cohort = c.cohort;
  if (cohort.min_participants > cohort.max_participants) {
    error("cohort.min_participants",
          absl::StrCat(cohort.min_participants, " is greater than cohort.max_participants (",
                       cohort.max_participants, ")"),
          "cohort.max_participants");
  }
  const SecAggConfig& s = c.secagg;
  if (s.reconstruction_threshold && *s.reconstruction_threshold > cohort.min_participants) {
    error("secagg.reconstruction_threshold",
          absl::StrCat(*s.reconstruction_threshold,
                       " exceeds the smallest cohort (cohort.min_participants = ",
                       cohort.min_participants, "); such a round could never be unmasked"),
          "cohort.min_participants");
  }
  if (s.reconstruction_threshold && s.neighbours && *s.reconstruction_threshold > *s.neighbours) {
    error("secagg.reconstruction_threshold",
          absl::StrCat(*s.reconstruction_threshold, " exceeds secagg.neighbours (",
                       *s.neighbours, "); a participant holds only that many shares"),
          "secagg.neighbours");
  }
  // Exact summation in Z_2^32: n·(2^(B−1)−1) < 2^31 (DESIGN.md §5).
  const double bound = static_cast<double>(cohort.max_participants) *
                       (std::ldexp(1.0, s.bits - 1) - 1);
  if (bound >= std::ldexp(1.0, 31)) {
    error("secagg.bits",
          absl::StrCat("with ", s.bits, " bits and cohort.max_participants = ",
                       cohort.max_participants, " the sum can overflow: n·(2^(B−1)−1) = ",
                       absl::StrFormat("%.0f", bound),
                       " must stay below 2^31; lower secagg.bits or the cohort size"),
          "cohort.max_participants");
  }
  if (c.local_training.warmup_steps > c.local_training.steps) {
    error("local_training.warmup_steps",
          absl::StrCat(c.local_training.warmup_steps, " exceeds local_training.steps (",
                       c.local_training.steps, ")"),
          "local_training.steps");
  }
  if (c.simulate.clients < cohort.min_participants) {
    error("simulate.clients",
          absl::StrCat(c.simulate.clients, " clients can never fill a cohort of ",
                       "cohort.min_participants = ", cohort.min_participants),
          "cohort.min_participants");
  }
}

}  // namespace

ExperimentConfig ReadExperimentConfig(ConfigFile& file) {
  ExperimentConfig c;
  MapReader root(&file, file.root(), "");
  ExpectKind(root, kKindExperiment);
  root.Require("name");
  root.String("name", &c.name, CheckName);
  root.String("description", &c.description);
  ReadModel(root.Section("model"), c.model);
  ReadLora(root.Section("lora"), c.lora);
  ReadRounds(root.Section("rounds"), c.rounds);
  ReadCohort(root.Section("cohort"), c.cohort);
  ReadLocalTraining(root.Section("local_training"), c.local_training);
  ReadAggregation(root.Section("aggregation"), c.aggregation);
  ReadSecAgg(root.Section("secagg"), c.secagg);
  ReadDeadlines(root.Section("deadlines"), c.deadlines);
  ReadEvaluation(root.Section("evaluation"), c.evaluation);
  ReadSimulate(root.Section("simulate"), c.simulate);
  root.Finish();
  if (!file.has_errors()) CheckCrossField(file, c);
  return c;
}

absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::filesystem::path& path) {
  return LoadConfigFile(path, &ReadExperimentConfig);
}

}  // namespace tontine::config
