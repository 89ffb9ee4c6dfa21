// An experiment: what the federation trains, with whom, and how (configs/experiments/*.yaml).
// Every field documents its YAML key, default and unit; configs/experiments/udhr-demo.yaml
// mirrors this file comment for comment.
#ifndef TONTINE_COMMON_CONFIG_EXPERIMENT_CONFIG_H_
#define TONTINE_COMMON_CONFIG_EXPERIMENT_CONFIG_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/config/reader.h"

namespace tontine::config {

// The LoRA target modules a Llama-family model offers.
inline const std::vector<std::string> kLoraTargetModules = {
    "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

enum class TokenizerKind { kByte, kHuggingFace };

struct ModelConfig {
  // model.base: "bundled" (default) for the small byte-level model that `tontine pretrain`
  // builds from examples/data; otherwise a directory in Hugging Face layout (config.json,
  // *.safetensors). nullopt means bundled.
  std::optional<std::filesystem::path> base_dir;
  // model.sha256: the base model's digest in hex (safetensors::ModelDigest: SHA-256 over
  // config.json and the weight files), to pin an exact checkpoint; "" = any.
  std::string sha256;
  // model.tokenizer: byte (default; 256 bytes + BOS/EOS/PAD) or hf (tokenizer.json in base).
  TokenizerKind tokenizer = TokenizerKind::kByte;
};

struct LoraConfig {
  // lora.rank: r, 1–1024. Default 8.
  int rank = 8;
  // lora.alpha: scale numerator; updates are scaled by alpha / rank. Default 16.
  double alpha = 16;
  // lora.dropout: dropout on the LoRA input while training, in [0, 1). Default 0.05.
  double dropout = 0.05;
  // lora.target_modules: modules to wrap, from kLoraTargetModules. Default [q_proj, v_proj].
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};
  // lora.seed: seed of the initial A (frozen under ffa); 0 (default) = drawn at random when
  // the experiment starts and recorded in the state dir.
  uint64_t seed = 0;
};

struct RoundsConfig {
  // rounds.count: rounds to run, 1–100000. Default 10.
  int count = 10;
  // rounds.target_perplexity: stop early once the macro-averaged held-out perplexity is at
  // or below this; 0 (default) = run all rounds.
  double target_perplexity = 0;
};

enum class Sampling { kRandom, kRoundRobin };

struct CohortConfig {
  // cohort.min_participants: a round starts only with at least this many connected
  // participants (2–100000). Default 2.
  int min_participants = 2;
  // cohort.max_participants: at most this many are invited (≥ min_participants). Default 100.
  int max_participants = 100;
  // cohort.sampling: random (default; uniform without replacement) or round_robin (those
  // who took part least recently first).
  Sampling sampling = Sampling::kRandom;
  // cohort.filter: only participants whose enrolment tags match, e.g. {language: [wo, yo]}.
  // A key with several values matches any of them; several keys must all match. Empty =
  // everyone.
  std::map<std::string, std::vector<std::string>> filter;
};

enum class Schedule { kConstant, kCosine };
enum class LocalOptimizer { kAdamW, kSgd };

struct LocalTrainingConfig {
  // local_training.steps: optimiser steps per round on each participant (1–100000). Default 20.
  int steps = 20;
  // local_training.batch_size: sequences per micro-batch (1–4096). Default 8.
  int batch_size = 8;
  // local_training.gradient_accumulation: micro-batches per step (1–1024). Default 1.
  int gradient_accumulation = 1;
  // local_training.sequence_length: tokens per packed sequence (8–32768). Default 128.
  int sequence_length = 128;
  // local_training.optimizer: adamw (default) or sgd (plain SGD; the FedOpt pairing with an
  // adaptive server optimiser such as fedadam, which keeps the clients' gradient magnitudes).
  LocalOptimizer optimizer = LocalOptimizer::kAdamW;
  // local_training.learning_rate: peak learning rate (> 0, ≤ 1000; SGD on LoRA gradients
  // wants a far larger rate than AdamW). Default 0.002.
  double learning_rate = 2e-3;
  // local_training.schedule: constant or cosine (default), after warm-up.
  Schedule schedule = Schedule::kCosine;
  // local_training.warmup_steps: linear warm-up steps (≤ steps). Default 0.
  int warmup_steps = 0;
  // local_training.weight_decay: decoupled under AdamW, L2 under SGD (≥ 0). Default 0.
  double weight_decay = 0;
  // local_training.gradient_clip: gradient L2 norm bound; 0 = off. Default 1.0.
  double gradient_clip = 1.0;
  // local_training.seed: base seed for data order and dropout (mixed with the round id and
  // participant). Default 0.
  uint64_t seed = 0;
};

enum class AggregationRule { kFfa, kAlternating, kFedIt };
enum class ServerOptimizer { kFedAvg, kFedAvgM, kFedAdam, kFedYogi };
enum class Weighting { kTokens, kUniform };

struct AggregationConfig {
  // aggregation.rule: ffa (default; A frozen, B trained: exact), alternating (B, then A:
  // exact) or fedit (A and B averaged separately: inexact baseline).
  AggregationRule rule = AggregationRule::kFfa;
  // aggregation.server_optimizer: fedavg (default), fedavgm, fedadam or fedyogi
  // (Reddi et al. 2021).
  ServerOptimizer server_optimizer = ServerOptimizer::kFedAvg;
  // aggregation.server_learning_rate: step applied to the averaged delta (> 0). Default 1.0.
  double server_learning_rate = 1.0;
  // aggregation.momentum: fedavgm server momentum, in [0, 1). Default 0.9.
  double momentum = 0.9;
  // aggregation.beta1 / beta2: fedadam/fedyogi moment decay, in [0, 1). Defaults 0.9, 0.99.
  double beta1 = 0.9;
  double beta2 = 0.99;
  // aggregation.epsilon: fedadam/fedyogi adaptivity τ (> 0). Default 0.001.
  double epsilon = 1e-3;
  // aggregation.weighting: tokens (default; by training tokens held, capped at max_weight)
  // or uniform.
  Weighting weighting = Weighting::kTokens;
  // aggregation.max_weight: training tokens that count as weight 1.0; a participant with
  // more counts as 1.0 (> 0). Default 1000000.
  double max_weight = 1e6;
};

enum class PrgChoice { kAuto, kAes256Ctr, kChaCha20 };

struct SecAggConfig {
  // secagg.bits: signed bits B per quantised coordinate (8–24). Default 16. The sum is exact
  // while max_participants·(2^(B−1)−1) < 2^31.
  int bits = 16;
  // secagg.clip_l2: L2 bound on each (weighted) update before quantisation (> 0). Default 1.0.
  double clip_l2 = 1.0;
  // secagg.clip_linf: L∞ bound c; c maps to 2^(B−1)−1 (> 0). Default 0.05.
  double clip_linf = 0.05;
  // secagg.neighbours: k, neighbours per participant (1–100000), or auto (default: the
  // parameter finder's choice; the full graph for small cohorts).
  std::optional<int> neighbours;
  // secagg.reconstruction_threshold: t, Shamir threshold (2–100000), or auto (default).
  std::optional<int> reconstruction_threshold;
  // secagg.expected_dropout: fraction of a cohort expected to drop, for the parameter
  // finder, in [0, 0.5). Default 0.1.
  double expected_dropout = 0.1;
  // secagg.corrupt_fraction: fraction of participants assumed to collude with the
  // coordinator, for the parameter finder, in [0, 0.5). Default 0.05.
  double corrupt_fraction = 0.05;
  // secagg.prg: auto (default: AES-256-CTR with AES-NI, else ChaCha20), aes256-ctr, chacha20.
  PrgChoice prg = PrgChoice::kAuto;
};

struct DeadlinesConfig {
  // deadlines.cohort: how long a round waits for min_participants to be connected before it
  // gives up and retries. Default 5m.
  absl::Duration cohort = absl::Minutes(5);
  // deadlines.advertise_keys / share_keys / unmask: time for each SecAgg+ phase. Default 30s.
  absl::Duration advertise_keys = absl::Seconds(30);
  absl::Duration share_keys = absl::Seconds(30);
  // deadlines.masked_input: from the invitation to the last masked-update chunk: adapter
  // download, local training and upload. Default 10m.
  absl::Duration masked_input = absl::Minutes(10);
  absl::Duration unmask = absl::Seconds(30);
};

struct EvaluationConfig {
  // evaluation.held_out_fraction: share of each participant's documents held out for
  // evaluation, chosen by document hash, in (0, 1). Default 0.1.
  double held_out_fraction = 0.1;
  // evaluation.group_by_tag: the enrolment tag whose values name the metric buckets
  // (per-language perplexity). Default "language".
  std::string group_by_tag = "language";
};

enum class SimulatedPhase { kAdvertiseKeys, kShareKeys, kTraining, kMaskedInput, kUnmask };

struct SimulatedDropout {
  // simulate.dropout[].phase: where a client is killed: advertise_keys, share_keys,
  // training, masked_input or unmask (before it sends that phase's message).
  SimulatedPhase phase = SimulatedPhase::kMaskedInput;
  // simulate.dropout[].probability: chance per client per round, in [0, 1].
  double probability = 0;
};

struct SimulateConfig {
  // simulate.clients: client processes `tontine simulate` starts (1–1000). Default 8.
  int clients = 8;
  // simulate.data: a directory with one subdirectory of text per community language.
  // Empty (default) = the bundled corpus, examples/data/community, looked up in the current
  // directory and above the tontine binary.
  std::filesystem::path data_dir;
  // simulate.languages: which subdirectories of data to use; client i gets
  // languages[i mod len], and clients that share a language split its documents between them.
  // Languages beyond `clients` are left out. Empty (default) = all, in name order.
  std::vector<std::string> languages;
  // simulate.dropout: one {phase, probability} or a list of them; the probability is per
  // client per round, client i rehearses entry i mod len, and a killed client is restarted.
  // Default none.
  std::vector<SimulatedDropout> dropout;
  // simulate.threads_per_client: training threads per client process (1–256). Default 1.
  int threads_per_client = 1;
  // simulate.seed: seed for dropout draws and data slicing. Default 1.
  uint64_t seed = 1;
};

struct ExperimentConfig {
  // name: [a-z0-9][a-z0-9._-]*, at most 64 characters. Required.
  std::string name;
  // description: free text. Optional.
  std::string description;
  ModelConfig model;
  LoraConfig lora;
  RoundsConfig rounds;
  CohortConfig cohort;
  LocalTrainingConfig local_training;
  AggregationConfig aggregation;
  SecAggConfig secagg;
  DeadlinesConfig deadlines;
  EvaluationConfig evaluation;
  SimulateConfig simulate;
};

// Reads an experiment from an open file whose top-level `kind` is `experiment`. Reports
// every problem to `file`; the result is meaningful only if `file` has no errors after.
ExperimentConfig ReadExperimentConfig(ConfigFile& file);

// Loads and validates an experiment file. INVALID_ARGUMENT with "file:line:col: message"
// lines for every problem; NOT_FOUND when the file is missing.
absl::StatusOr<ExperimentConfig> LoadExperimentConfig(const std::filesystem::path& path);

}  // namespace tontine::config

#endif  // TONTINE_COMMON_CONFIG_EXPERIMENT_CONFIG_H_
