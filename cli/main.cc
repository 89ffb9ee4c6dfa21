// tontine: the researcher's tool.
//
//   tontine validate FILE...   check config files; stops at the first bad one
//   tontine pretrain           train the small byte-level base model ("bundled")
//   tontine train-local        fine-tune a LoRA adapter on a data directory
//   tontine eval               held-out NLL, perplexity and bits per byte
//   tontine simulate           a whole federation on this machine (coordinator + clients)
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/simulate.h"
#include "cli/train_commands.h"
#include "common/base/cli.h"
#include "common/base/cpu.h"
#include "common/base/logging.h"
#include "common/base/version.h"
#include "common/config/base_model.h"
#include "common/config/overrides.h"
#include "common/config/validate.h"

namespace tontine {
namespace {

constexpr char kProgram[] = "tontine";
constexpr char kSetHelp[] =
    "override a config key, e.g. --set rounds.count=3 or --set lora.target_modules=[q_proj,v_proj] "
    "(YAML value; repeatable)";

int RunValidate(const std::vector<std::string>& files, const std::vector<std::string>& sets) {
  absl::StatusOr<std::vector<config::Override>> overrides = config::ParseOverrides(sets);
  if (!overrides.ok()) return ReportError(kProgram, overrides.status());
  for (const std::string& file : files) {
    absl::StatusOr<std::string> summary = config::ValidateConfigFile(file, *overrides);
    if (!summary.ok()) {
      std::fprintf(stderr, "%s\n", std::string(summary.status().message()).c_str());
      std::fprintf(stderr, "%s: %s is not valid\n", kProgram, file.c_str());
      return 1;
    }
    std::printf("%s: ok (%s)\n", file.c_str(), summary->c_str());
  }
  return 0;
}

}  // namespace
}  // namespace tontine

int main(int argc, char** argv) {
  using namespace tontine;
  // OpenBLAS reads OPENBLAS_CORETYPE when it loads: set it from CPUID and re-exec once.
  EnsureOpenBlasCoreType(argc, argv);
  CLI::App app{"Tontine: federated LoRA fine-tuning for community language data"};
  app.set_version_flag("--version", std::string(kVersion));
  app.require_subcommand(1);

  std::vector<std::string> files;
  CLI::App* validate = app.add_subcommand(
      "validate", "check experiment, coordinator and client config files");
  validate->add_option("files", files, "YAML files")->required();
  std::vector<std::string> validate_sets;
  validate->add_option("--set", validate_sets,
                       "override a key in every file, e.g. --set rounds.count=3; in a "
                       "coordinator file, experiment.KEY=VALUE overrides its experiment "
                       "(repeatable)")
      ->allow_extra_args(false);

  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();

  cli::PretrainArgs pretrain_args;
  CLI::App* pretrain = app.add_subcommand(
      "pretrain", "train the small byte-level base model (\"bundled\") on a data directory");
  pretrain->add_option("--data", pretrain_args.data, "text to train on (.txt/.jsonl files)")
      ->required();
  pretrain->add_option("--out", pretrain_args.out,
                       "output model directory (default: the bundled model's cache, " +
                           config::BundledBaseDir().string() + ")");
  pretrain->add_option("--steps", pretrain_args.steps, "optimiser steps")->capture_default_str();
  pretrain->add_option("--hidden", pretrain_args.hidden, "hidden size")->capture_default_str();
  pretrain->add_option("--layers", pretrain_args.layers, "decoder layers")->capture_default_str();
  pretrain->add_option("--heads", pretrain_args.heads, "attention heads")->capture_default_str();
  pretrain->add_option("--intermediate", pretrain_args.intermediate, "MLP width")
      ->capture_default_str();
  pretrain->add_option("--sequence-length", pretrain_args.sequence_length, "bytes per sequence")
      ->capture_default_str();
  pretrain->add_option("--batch-size", pretrain_args.batch_size, "sequences per step")
      ->capture_default_str();
  pretrain->add_option("--learning-rate", pretrain_args.learning_rate, "AdamW peak rate")
      ->capture_default_str();
  pretrain->add_option("--seed", pretrain_args.seed, "initialisation and data-order seed")
      ->capture_default_str();
  pretrain->add_option("--threads", pretrain_args.threads, "training threads (0 = all cores)")
      ->capture_default_str();
  pretrain->add_flag("--force", pretrain_args.force, "replace a model already in --out");

  cli::TrainLocalArgs train_args;
  CLI::App* train_local = app.add_subcommand(
      "train-local", "fine-tune a LoRA adapter on a data directory; writes a PEFT adapter");
  train_local->add_option("--base", train_args.base, "base model directory, or bundled")
      ->capture_default_str();
  train_local->add_option("--data", train_args.data, "text to train on (.txt/.jsonl files)")
      ->required();
  train_local->add_option("--out", train_args.out, "output PEFT adapter directory")->required();
  train_local->add_option("--config", train_args.config,
                          "experiment YAML (lora, local_training, evaluation sections)");
  train_local->add_option("--steps", train_args.steps, "override local_training.steps");
  train_local->add_option("--set", train_args.overrides, kSetHelp)->allow_extra_args(false);
  train_local->add_option("--threads", train_args.threads, "training threads (0 = all cores)")
      ->capture_default_str();
  train_local->add_flag("--skip-bad-documents", train_args.skip_bad_documents,
                        "skip (and count) documents with invalid UTF-8 or bad JSON");

  cli::EvalArgs eval_args;
  CLI::App* eval = app.add_subcommand(
      "eval", "report NLL, perplexity and bits per byte of a model (and adapter) on text");
  eval->add_option("--base", eval_args.base, "base model directory, or bundled")
      ->capture_default_str();
  eval->add_option("--adapter", eval_args.adapter, "a PEFT LoRA adapter directory");
  eval->add_option("--data", eval_args.data, "text to score (.txt/.jsonl files)")->required();
  eval->add_option("--config", eval_args.config,
                   "experiment YAML (sequence length, held-out fraction)");
  eval->add_option("--set", eval_args.overrides, kSetHelp)->allow_extra_args(false);
  eval->add_option("--svg", eval_args.svg,
                   "also write a bar chart of perplexity per language (group) to this SVG file");
  eval->add_option("--split", eval_args.split, "held-out, train or all")
      ->check(CLI::IsMember({"held-out", "train", "all"}))
      ->capture_default_str();
  eval->add_option("--threads", eval_args.threads, "threads (0 = all cores)")
      ->capture_default_str();
  eval->add_flag("--json", eval_args.json, "print JSON");
  eval->add_flag("--skip-bad-documents", eval_args.skip_bad_documents,
                 "skip (and count) documents with invalid UTF-8 or bad JSON");

  cli::SimulateArgs simulate_args;
  CLI::App* simulate = app.add_subcommand(
      "simulate", "run a federation on this machine: the real coordinator and clients over TLS "
                  "on 127.0.0.1, one community language per client");
  simulate->add_option("--config", simulate_args.config,
                       "experiment YAML (its simulate section: clients, data, dropout)")
      ->required();
  simulate->add_option("--set", simulate_args.overrides,
                       "override an experiment key, e.g. --set rounds.count=3 (YAML value; "
                       "repeatable; the coordinator runs the overridden experiment)")
      ->allow_extra_args(false);
  simulate->add_option("--out", simulate_args.out,
                       "run directory for logs, state and report.json/csv (default: a new "
                       "./simulate-runs/<experiment>-<UTC time>)");
  simulate->add_flag("--centralized", simulate_args.centralized,
                     "also train the same adapter on the pooled data for the same number of "
                     "steps x sequences, for comparison");
  simulate->add_option("--threads", simulate_args.threads,
                       "threads for simulate's own evaluation and baseline (0 = all cores; "
                       "clients use simulate.threads_per_client)")
      ->capture_default_str();
  simulate->add_option("--round-timeout", simulate_args.round_timeout,
                       "give up when no round commits for this long, e.g. 45m (default: twice "
                       "the experiment's deadlines for one round, at least 10m)");

  CLI11_PARSE(app, argc, argv);
  if (absl::Status status = InitLogging(kProgram, log_level); !status.ok()) {
    return ReportError(kProgram, status);
  }
  if (*validate) return RunValidate(files, validate_sets);
  if (*pretrain) return cli::RunPretrain(pretrain_args);
  if (*train_local) return cli::RunTrainLocal(train_args);
  if (*eval) return cli::RunEval(eval_args);
  if (*simulate) return cli::RunSimulate(simulate_args);
  return 0;
}
