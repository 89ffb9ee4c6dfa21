#include "cli/train_commands.h"

#include <cstdio>
#include <optional>
#include <system_error>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/interrupt.h"
#include "cli/model_helpers.h"
#include "cli/report_plots.h"
#include "common/base/cli.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/base/units.h"
#include "common/config/base_model.h"
#include "common/config/experiment_config.h"
#include "common/ml/checkpoint.h"
#include "common/ml/runtime.h"
#include "common/safetensors/model_dir.h"
#include "common/text/tokenizer.h"
#include "spdlog/spdlog.h"

namespace tontine::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kProgram[] = "tontine";
// Name of the resumable training state inside an output directory (hidden, so a PEFT loader
// never sees it); removed when training finishes.
constexpr char kCheckpointFile[] = ".tontine-train-checkpoint.pt";

void PrintEvalTable(const ml::EvalResult& result) {
  std::printf("%-16s %10s %10s %8s %11s %10s\n", "group", "tokens", "bytes", "nll", "perplexity",
              "bits/byte");
  auto row = [](const ml::GroupMetrics& g) {
    std::printf("%-16s %10lld %10llu %8.4f %11.3f %10.4f\n", g.group.c_str(),
                static_cast<long long>(g.tokens), static_cast<unsigned long long>(g.bytes),
                g.MeanNll(), g.Perplexity(), g.BitsPerByte());
  };
  for (const ml::GroupMetrics& g : result.groups) row(g);
  if (result.groups.size() > 1) {
    row(result.total);
    std::printf("macro-average perplexity: %.3f\n", result.MacroPerplexity());
  }
}

// eval --svg: perplexity per group as a bar chart, named after the model and adapter scored.
absl::Status WriteEvalChart(const EvalArgs& args, const ml::EvalResult& result) {
  const auto name = [](const fs::path& dir) {  // "wol-adapter" for "runs/wol-adapter/"
    fs::path p = fs::absolute(dir).lexically_normal();
    return (p.has_filename() ? p : p.parent_path()).filename().string();
  };
  std::vector<GroupPerplexity> groups;
  for (const ml::GroupMetrics& g : result.groups) groups.push_back({g.group, g.Perplexity()});
  std::string model = args.base == "bundled" ? args.base : name(args.base);
  if (!args.adapter.empty()) absl::StrAppend(&model, " + ", name(args.adapter));
  const plot::BarChart chart = EvalPerplexityChart(groups, result.MacroPerplexity(), model,
                                                   args.split);
  return WriteFileAtomic(args.svg, plot::RenderBarChart(chart));
}

// Writes into a fresh sibling of `out` and renames it into place at the end, so that a
// half-built model never appears under `out`.
absl::Status Pretrain(const PretrainArgs& args, const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out / safetensors::kModelConfigFile, ec) && !args.force) {
    return absl::AlreadyExistsError(absl::StrCat(
        out.string(), " already holds a model; pass --force to train a new one in its place"));
  }
  TONTINE_ASSIGN_OR_RETURN(text::Corpus corpus, LoadData(args.data, args.held_out_fraction, false));
  TONTINE_ASSIGN_OR_RETURN(text::PackedSequences train,
                           PackDocuments(corpus.train, args.sequence_length));
  std::optional<text::PackedSequences> held_out;
  if (!corpus.held_out.empty()) {
    TONTINE_ASSIGN_OR_RETURN(held_out, PackDocuments(corpus.held_out, args.sequence_length));
  }
  ml::ModelConfig config;
  config.model_type = "llama";
  config.vocab_size = text::ByteTokenizer::kVocabSize;
  config.hidden_size = args.hidden;
  config.intermediate_size = args.intermediate;
  config.num_hidden_layers = args.layers;
  config.num_attention_heads = args.heads;
  config.num_key_value_heads = args.heads;
  config.head_dim = args.hidden / args.heads;
  config.max_position_embeddings = 4096;
  config.rms_norm_eps = 1e-5;
  config.tie_word_embeddings = true;
  config.bos_token_id = text::ByteTokenizer::kBos;
  config.eos_token_id = text::ByteTokenizer::kEos;
  config.pad_token_id = text::ByteTokenizer::kPad;
  if (args.hidden % args.heads != 0 || (args.hidden / args.heads) % 2 != 0) {
    return absl::InvalidArgumentError("--hidden must be a multiple of 2 × --heads");
  }
  ml::CausalLm model(config);
  model->InitRandom(args.seed);
  spdlog::info("pretraining a {}-parameter byte-level model on {} sequences of {} bytes",
               config.ParameterCount(), train.rows(), args.sequence_length);

  fs::path partial = out;
  partial += ".partial";
  TONTINE_RETURN_IF_ERROR(MakeDirs(partial));
  ml::TrainOptions options;
  options.schedule.steps = args.steps;
  options.schedule.batch_size = args.batch_size;
  options.schedule.sequence_length = args.sequence_length;
  options.schedule.learning_rate = args.learning_rate;
  options.schedule.schedule = config::Schedule::kCosine;
  options.schedule.warmup_steps = std::min(args.warmup_steps, args.steps);
  options.schedule.weight_decay = 0.01;
  options.schedule.gradient_clip = 1.0;
  options.schedule.seed = args.seed;
  options.checkpoint = partial / kCheckpointFile;
  options.checkpoint_every = 50;
  const absl::Time start = absl::Now();
  TONTINE_ASSIGN_OR_RETURN(ml::TrainResult result,
                           TrainWithProgress(model, train, options, "pretrain"));
  TONTINE_RETURN_IF_ERROR(ml::SaveCausalLm(partial, model));
  nlohmann::json report = {{"steps", args.steps},
                           {"tokens", result.tokens},
                           {"final_loss", result.last_loss},
                           {"seconds", absl::ToDoubleSeconds(absl::Now() - start)},
                           {"data", fs::absolute(args.data).string()}};
  if (held_out) {
    ml::EvalResult eval = ml::Evaluate(model, *held_out);
    report["held_out"] = EvalJson(eval);
    std::printf("held-out perplexity %.3f (%.3f bits/byte) over %zu documents of %zu languages\n",
                eval.total.Perplexity(), eval.total.BitsPerByte(), corpus.held_out.size(),
                eval.groups.size());
  }
  TONTINE_RETURN_IF_ERROR(WriteFileAtomic(partial / "pretrain_report.json", report.dump(2) + "\n"));
  if (fs::exists(out, ec)) fs::remove_all(out, ec);
  fs::rename(partial, out, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot move ", partial.string(), " to ", out.string(), ": ", ec.message()));
  }
  TONTINE_ASSIGN_OR_RETURN(std::string digest, safetensors::ModelDigest(out));
  std::printf("wrote %s (%lld parameters, %d steps, %s)\nmodel sha256: %s\n", out.string().c_str(),
              static_cast<long long>(config.ParameterCount()), args.steps,
              FormatShortDuration(absl::Now() - start).c_str(), digest.c_str());
  return absl::OkStatus();
}

absl::Status TrainLocal(const TrainLocalArgs& args) {
  TONTINE_ASSIGN_OR_RETURN(config::ExperimentConfig experiment,
                           ExperimentOrDefaults(args.config, args.overrides));
  if (args.steps > 0) experiment.local_training.steps = args.steps;
  experiment.local_training.warmup_steps =
      std::min(experiment.local_training.warmup_steps, experiment.local_training.steps);
  TONTINE_ASSIGN_OR_RETURN(fs::path base_dir,
                           config::ResolveBaseModel(config::ParseBaseFlag(args.base)));
  TONTINE_ASSIGN_OR_RETURN(ml::CausalLm model, LoadBase(base_dir, experiment));
  TONTINE_ASSIGN_OR_RETURN(text::Corpus corpus,
                           LoadData(args.data, experiment.evaluation.held_out_fraction,
                                    args.skip_bad_documents));
  const int length = experiment.local_training.sequence_length;
  TONTINE_ASSIGN_OR_RETURN(text::PackedSequences train, PackDocuments(corpus.train, length));
  std::optional<text::PackedSequences> held_out;
  if (corpus.held_out.empty()) {
    spdlog::warn("{}: no document fell in the held-out split ({} of documents); perplexity "
                 "cannot be reported", args.data.string(), experiment.evaluation.held_out_fraction);
  } else {
    TONTINE_ASSIGN_OR_RETURN(held_out, PackDocuments(corpus.held_out, length));
  }
  std::optional<ml::EvalResult> before;
  if (held_out) before = ml::Evaluate(model, *held_out);

  const update::LoraSpec spec = update::LoraSpecOf(experiment.lora, base_dir);
  TONTINE_RETURN_IF_ERROR(ml::InjectLora(model, spec));
  // Train what a federated round of this experiment trains: under ffa, B alone on an A drawn
  // from lora.seed (PEFT's own random A when the seed is 0); otherwise A and B.
  const bool ffa = TrainedMatricesOf(experiment) == ml::TrainedMatrices::kB;
  if (experiment.lora.seed != 0) ml::SeedLoraA(model, experiment.lora.seed);
  ml::SetTrainable(model, TrainedMatricesOf(experiment));

  TONTINE_RETURN_IF_ERROR(MakeDirs(args.out));
  ml::TrainOptions options;
  options.schedule = experiment.local_training;
  options.checkpoint = args.out / kCheckpointFile;
  CatchInterrupts();
  TONTINE_ASSIGN_OR_RETURN(ml::TrainResult result,
                           TrainWithProgress(model, train, options, "train"));
  TONTINE_RETURN_IF_ERROR(ml::SavePeftAdapter(args.out, model, spec));
  int64_t trained = 0;
  for (const torch::Tensor& p : ml::TrainableParameters(model)) trained += p.numel();
  std::printf("trained %lld adapter parameters (%s, rank %d, %s) for %d steps at %.0f tokens/s\n",
              static_cast<long long>(trained), absl::StrJoin(spec.target_modules, ", ").c_str(),
              static_cast<int>(spec.rank), ffa ? "B only (ffa)" : "A and B",
              experiment.local_training.steps, result.tokens_per_second);
  if (held_out) {
    ml::EvalResult after = ml::Evaluate(model, *held_out);
    const double p0 = before->total.Perplexity(), p1 = after.total.Perplexity();
    std::printf("held-out perplexity: before %.3f, after %.3f (%+.1f %%) over %lld tokens\n", p0,
                p1, 100.0 * (p1 - p0) / p0, static_cast<long long>(after.total.tokens));
  }
  std::printf("wrote PEFT adapter to %s\n", args.out.string().c_str());
  return absl::OkStatus();
}

absl::Status Eval(const EvalArgs& args) {
  TONTINE_ASSIGN_OR_RETURN(config::ExperimentConfig experiment,
                           ExperimentOrDefaults(args.config, args.overrides));
  TONTINE_ASSIGN_OR_RETURN(fs::path base_dir,
                           config::ResolveBaseModel(config::ParseBaseFlag(args.base)));
  TONTINE_ASSIGN_OR_RETURN(ml::CausalLm model, LoadBase(base_dir, experiment));
  if (!args.adapter.empty()) {
    TONTINE_ASSIGN_OR_RETURN(update::LoraSpec spec, ml::LoadPeftAdapter(args.adapter, model));
    spdlog::info("{}: rank {} adapter on {}", args.adapter.string(), spec.rank,
                 absl::StrJoin(spec.target_modules, ", "));
  }
  TONTINE_ASSIGN_OR_RETURN(text::Corpus corpus,
                           LoadData(args.data, experiment.evaluation.held_out_fraction,
                                    args.skip_bad_documents));
  std::vector<text::Document> documents;
  if (args.split != "train") documents = corpus.held_out;
  if (args.split != "held-out") {
    documents.insert(documents.end(), corpus.train.begin(), corpus.train.end());
  }
  if (documents.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        args.data.string(), ": no documents in the ", args.split, " split (held-out fraction ",
        experiment.evaluation.held_out_fraction, "); try --split all"));
  }
  TONTINE_ASSIGN_OR_RETURN(text::PackedSequences data,
                           PackDocuments(documents, experiment.local_training.sequence_length));
  ml::EvalResult result = ml::Evaluate(model, data);
  if (args.json) {
    nlohmann::json out = EvalJson(result);
    out["split"] = args.split;
    out["base"] = base_dir.string();
    TONTINE_ASSIGN_OR_RETURN(out["base_sha256"], safetensors::ModelDigest(base_dir));
    out["adapter"] = args.adapter.string();
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    PrintEvalTable(result);
  }
  if (!args.svg.empty()) {
    TONTINE_RETURN_IF_ERROR(WriteEvalChart(args, result));
    spdlog::info("wrote the chart to {}", args.svg.string());
  }
  return absl::OkStatus();
}

}  // namespace

int RunPretrain(const PretrainArgs& args) {
  ml::ConfigureRuntime(args.threads);
  CatchInterrupts();
  const fs::path out = args.out.empty() ? config::BundledBaseDir() : fs::path(args.out);
  return ReportError(kProgram, Pretrain(args, out));
}

int RunTrainLocal(const TrainLocalArgs& args) {
  ml::ConfigureRuntime(args.threads);
  return ReportError(kProgram, TrainLocal(args));
}

int RunEval(const EvalArgs& args) {
  ml::ConfigureRuntime(args.threads);
  return ReportError(kProgram, Eval(args));
}

}  // namespace tontine::cli
