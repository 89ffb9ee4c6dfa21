// Local training through the real `tontine` binary: pretrain a small byte-level base model on
// the bundled pretraining languages, fine-tune a LoRA adapter on a held-out community
// language, and check that held-out perplexity falls, that the adapter is a PEFT directory,
// that `eval` agrees, and that bad input, a missing base model and an interruption are each
// handled as the README says.
#include <signal.h>

#include <fstream>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/base/cpu.h"
#include "common/base/files.h"
#include "common/safetensors/reader.h"
#include "tests/testing/process.h"
#include "tests/testing/status_matchers.h"

namespace tontine {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::Binary;
using testing::RunResult;
using testing::SourceDir;

constexpr absl::Duration kTimeout = absl::Minutes(5);

// One training thread: ctest runs two tests at once on two cores, and OpenMP threads that
// share a core with another process spin instead of working.
constexpr char kThreads[] = "1";

RunResult Tontine(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), Binary("tontine"));
  args.insert(args.end(), {"--threads", kThreads});
  return testing::Run(args, kTimeout, env);
}

fs::path Community(const std::string& tag) { return SourceDir() / "examples/data/community" / tag; }

// "…held-out perplexity: before 12.345, after 6.789 (…" → {12.345, 6.789}.
std::pair<double, double> BeforeAfter(const std::string& out) {
  const std::string marker = "held-out perplexity: before ";
  size_t at = out.find(marker);
  if (at == std::string::npos) return {0, 0};
  at += marker.size();
  size_t comma = out.find(", after ", at);
  size_t end = out.find(' ', comma + 8);
  double before = 0, after = 0;
  if (!absl::SimpleAtod(out.substr(at, comma - at), &before) ||
      !absl::SimpleAtod(out.substr(comma + 8, end - comma - 8), &after)) {
    return {0, 0};
  }
  return {before, after};
}

class TrainingE2eTest : public ::testing::Test {
 protected:
  // One small base model for every test in this binary (registered WHOLE, so one process):
  // 2 layers, hidden 128, pretrained for 150 steps (~30 s on 2 cores).
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    RunResult pretrain = Tontine({"pretrain", "--data", (SourceDir() / "examples/data/pretrain").string(),
                                  "--out", Base().string(), "--steps", "150", "--hidden", "128",
                                  "--layers", "2", "--heads", "4", "--intermediate", "352"});
    ASSERT_EQ(pretrain.exit_code, 0) << pretrain.err;
    ASSERT_THAT(pretrain.out, HasSubstr("model sha256: "));
    pretrain_out_ = new std::string(pretrain.out);
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete pretrain_out_;
  }
  static fs::path Base() { return dir_->path() / "base"; }
  fs::path Scratch() const { return scratch_.path(); }

  static testing::TempDir* dir_;
  static std::string* pretrain_out_;
  testing::TempDir scratch_;
};

testing::TempDir* TrainingE2eTest::dir_ = nullptr;
std::string* TrainingE2eTest::pretrain_out_ = nullptr;

TEST_F(TrainingE2eTest, PretrainWritesAHuggingFaceLayoutModel) {
  EXPECT_TRUE(fs::is_regular_file(Base() / "config.json"));
  EXPECT_TRUE(fs::is_regular_file(Base() / "model.safetensors"));
  EXPECT_FALSE(fs::exists(fs::path(Base().string() + ".partial")));
  absl::StatusOr<std::string> config_text = ReadFile(Base() / "config.json");
  ASSERT_THAT(config_text, testing::IsOk());
  nlohmann::json config = nlohmann::json::parse(*config_text);
  EXPECT_EQ(config["model_type"], "llama");
  EXPECT_EQ(config["vocab_size"], 259);
  EXPECT_EQ(config["hidden_size"], 128);
  EXPECT_EQ(config["num_hidden_layers"], 2);
  EXPECT_EQ(config["tie_word_embeddings"], true);
  EXPECT_THAT(*pretrain_out_, HasSubstr("held-out perplexity"));

  // A second pretrain into the same directory is refused and changes nothing.
  auto before = testing::SnapshotDir(Base());
  RunResult again = Tontine({"pretrain", "--data", (SourceDir() / "examples/data/pretrain").string(),
                             "--out", Base().string(), "--steps", "1"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("already holds a model; pass --force"));
  EXPECT_EQ(testing::SnapshotDir(Base()), before);
}

TEST_F(TrainingE2eTest, TrainLocalLowersHeldOutPerplexityAndWritesAPeftAdapter) {
  const fs::path adapter = Scratch() / "wol-adapter";
  // The demo experiment's LoRA and training settings (every projection, ffa), 60 steps.
  RunResult train = Tontine({"train-local", "--base", Base().string(), "--data",
                             Community("wol").string(), "--out", adapter.string(), "--config",
                             (SourceDir() / "configs/experiments/udhr-demo.yaml").string(),
                             "--steps", "60"});
  ASSERT_EQ(train.exit_code, 0) << train.err;
  auto [before, after] = BeforeAfter(train.out);
  ASSERT_GT(before, 0) << train.out;
  // "Clearly": at least a 10 % drop in held-out perplexity on a language the base never saw.
  EXPECT_LT(after, 0.9 * before) << train.out;

  // The runtime set-up is logged: the thread count asked for, and OpenBLAS running the
  // kernels chosen from CPUID (the binary re-executed itself with OPENBLAS_CORETYPE).
  EXPECT_THAT(train.err, HasSubstr(absl::StrCat("runtime: ", kThreads, " threads; BLAS ")));
  const std::string core = OpenBlasCoreTypeFor(DetectCpu());
  if (!core.empty()) {
    EXPECT_THAT(absl::AsciiStrToLower(train.err),
                HasSubstr(absl::StrCat("(openblas ", absl::AsciiStrToLower(core), ")")));
  }

  // Non-terminal stderr: plain progress log lines, not carriage-return redraws.
  EXPECT_THAT(train.err, HasSubstr("train: step 1/60"));
  EXPECT_THAT(train.err, HasSubstr("train: step 60/60"));
  EXPECT_EQ(train.err.find('\r'), std::string::npos);

  // The adapter directory is PEFT's layout, with PEFT's key names and shapes, and nothing else.
  std::set<std::string> files;
  for (const auto& entry : fs::directory_iterator(adapter)) files.insert(entry.path().filename());
  EXPECT_EQ(files, (std::set<std::string>{"adapter_config.json", "adapter_model.safetensors"}));
  nlohmann::json config = nlohmann::json::parse(*ReadFile(adapter / "adapter_config.json"));
  EXPECT_EQ(config["peft_type"], "LORA");
  EXPECT_EQ(config["task_type"], "CAUSAL_LM");
  EXPECT_EQ(config["r"], 8);
  EXPECT_EQ(config["lora_alpha"], 16);
  EXPECT_EQ(config["target_modules"], (nlohmann::json{"q_proj", "k_proj", "v_proj", "o_proj",
                                                      "gate_proj", "up_proj", "down_proj"}));
  EXPECT_EQ(config["base_model_name_or_path"], fs::absolute(Base()).lexically_normal().string());
  absl::StatusOr<safetensors::SafetensorsFile> weights =
      safetensors::SafetensorsFile::Open(adapter / "adapter_model.safetensors");
  ASSERT_THAT(weights, testing::IsOk());
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& info : weights->tensors()) shapes[info.name] = info.shape;
  std::map<std::string, std::vector<int64_t>> expected;
  // hidden 128, 4 heads of 32 (no grouping), MLP width 352, rank 8.
  struct Module {
    const char* path;
    int64_t in, out;
  };
  const Module modules[] = {{"self_attn.q_proj", 128, 128}, {"self_attn.k_proj", 128, 128},
                            {"self_attn.v_proj", 128, 128}, {"self_attn.o_proj", 128, 128},
                            {"mlp.gate_proj", 128, 352},    {"mlp.up_proj", 128, 352},
                            {"mlp.down_proj", 352, 128}};
  for (int layer : {0, 1}) {
    for (const Module& m : modules) {
      const std::string prefix = absl::StrCat("base_model.model.model.layers.", layer, ".", m.path);
      expected[prefix + ".lora_A.weight"] = {8, m.in};
      expected[prefix + ".lora_B.weight"] = {m.out, 8};
    }
  }
  EXPECT_EQ(shapes, expected);
  EXPECT_EQ(weights->metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));

  // `eval` reports the same held-out perplexity for the base model and for base + adapter.
  auto eval = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"eval", "--base", Base().string(), "--data",
                                     Community("wol").string(), "--json", "--config",
                                     (SourceDir() / "configs/experiments/udhr-demo.yaml").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    RunResult run = Tontine(args);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return nlohmann::json::parse(run.out);
  };
  nlohmann::json base_eval = eval({});
  nlohmann::json adapted_eval = eval({"--adapter", adapter.string()});
  EXPECT_NEAR(base_eval["total"]["perplexity"].get<double>(), before, 1e-3);
  EXPECT_NEAR(adapted_eval["total"]["perplexity"].get<double>(), after, 1e-3);
  EXPECT_EQ(adapted_eval["split"], "held-out");
  // The digest eval reports is the one pretrain printed.
  const std::string digest = adapted_eval["base_sha256"].get<std::string>();
  EXPECT_EQ(digest.size(), 64u);
  EXPECT_THAT(*pretrain_out_, HasSubstr("model sha256: " + digest));
  const double bits = adapted_eval["total"]["bits_per_byte"].get<double>();
  EXPECT_GT(bits, 0);
  EXPECT_LT(bits, base_eval["total"]["bits_per_byte"].get<double>());
}

TEST_F(TrainingE2eTest, EvalPrintsATableByGroupAndDrawsItWhenAsked) {
  // Two languages as two subdirectories: one row per language plus the total and macro line.
  // --set without --config overrides the experiment's defaults.
  const fs::path svg = Scratch() / "eval.svg";
  RunResult run = Tontine({"eval", "--base", Base().string(), "--data",
                           (SourceDir() / "examples/data/community").string(), "--split", "all",
                           "--set", "local_training.sequence_length=96", "--svg", svg.string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("perplexity"));
  EXPECT_THAT(run.out, HasSubstr("\nwol "));
  EXPECT_THAT(run.out, HasSubstr("\nyor "));
  EXPECT_THAT(run.out, HasSubstr("\nall "));
  EXPECT_THAT(run.out, HasSubstr("macro-average perplexity: "));
  // The chart: a standalone SVG with a bar per language and the macro average.
  absl::StatusOr<std::string> chart = ReadFile(svg);
  ASSERT_THAT(chart, testing::IsOk());
  EXPECT_THAT(*chart, HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\""));
  EXPECT_THAT(*chart, HasSubstr(">wol</text>"));
  EXPECT_THAT(*chart, HasSubstr(">yor</text>"));
  EXPECT_THAT(*chart, HasSubstr("macro average"));
  EXPECT_THAT(*chart, HasSubstr("class=\"bar\""));

  // A bad override is named, before any model is loaded.
  RunResult bad = Tontine({"eval", "--base", Base().string(), "--data",
                           (SourceDir() / "examples/data/community").string(), "--config",
                           (SourceDir() / "configs/experiments/udhr-demo.yaml").string(), "--set",
                           "local_training.sequence_length=long"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("--set local_training.sequence_length=long: "
                                 "local_training.sequence_length: expected an integer, got "
                                 "'long'"));
}

TEST_F(TrainingE2eTest, BadDocumentsAreNamedOrSkippedWhenAsked) {
  const fs::path data = Scratch() / "data";
  fs::create_directories(data);
  std::ofstream(data / "good.txt") << "Ndax nit ñépp a juddu, yam ci tawfeex ak sag.\n";
  std::ofstream(data / "bad.jsonl") << "{\"text\": \"fine\"}\n{\"text\": \"bad \xff byte\"}\n";
  const fs::path out = Scratch() / "out";
  RunResult strict = Tontine({"train-local", "--base", Base().string(), "--data", data.string(),
                              "--out", out.string(), "--steps", "2"});
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_THAT(strict.err, HasSubstr("bad.jsonl:2: invalid UTF-8 at byte offset 31"));
  EXPECT_FALSE(fs::exists(out));

  RunResult skipping = Tontine({"train-local", "--base", Base().string(), "--data", data.string(),
                                "--out", out.string(), "--steps", "2", "--skip-bad-documents"});
  EXPECT_EQ(skipping.exit_code, 0) << skipping.err;
  EXPECT_THAT(skipping.err, HasSubstr("skipped 1 bad document(s)"));
  EXPECT_TRUE(fs::exists(out / "adapter_model.safetensors"));

  const fs::path empty = Scratch() / "empty";
  fs::create_directories(empty);
  RunResult none = Tontine({"train-local", "--base", Base().string(), "--data", empty.string(),
                            "--out", out.string()});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr("no .txt or .jsonl documents"));
}

TEST_F(TrainingE2eTest, MissingOrBrokenBaseModelsAreExplained) {
  const std::string data = Community("wol").string();
  RunResult missing = Tontine({"eval", "--base", (Scratch() / "nowhere").string(), "--data", data});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("nowhere: no such model directory"));

  RunResult unbuilt = Tontine({"eval", "--data", data},
                              {{"TONTINE_BUNDLED_BASE", (Scratch() / "cache").string()}});
  EXPECT_EQ(unbuilt.exit_code, 1);
  EXPECT_THAT(unbuilt.err, HasSubstr("the bundled base model has not been built"));
  EXPECT_THAT(unbuilt.err, HasSubstr("tontine pretrain --data examples/data/pretrain"));

  // A truncated weights file: the error names it.
  const fs::path broken = Scratch() / "broken";
  fs::create_directories(broken);
  fs::copy_file(Base() / "config.json", broken / "config.json");
  std::string weights = *ReadFile(Base() / "model.safetensors");
  ASSERT_THAT(WriteFileAtomic(broken / "model.safetensors", weights.substr(0, weights.size() / 2)),
              testing::IsOk());
  RunResult truncated = Tontine({"eval", "--base", broken.string(), "--data", data});
  EXPECT_EQ(truncated.exit_code, 1);
  EXPECT_THAT(truncated.err, HasSubstr("model.safetensors"));
}

TEST_F(TrainingE2eTest, AnInterruptedRunResumesFromItsCheckpoint) {
  const fs::path out = Scratch() / "adapter";
  const std::vector<std::string> args = {"train-local", "--base", Base().string(), "--data",
                                         Community("yor").string(), "--out", out.string(),
                                         "--steps", "200"};
  std::vector<std::string> argv = {Binary("tontine")};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--threads", kThreads});
  absl::StatusOr<std::unique_ptr<testing::Subprocess>> first = testing::Subprocess::Start(argv);
  ASSERT_THAT(first, testing::IsOk());
  // Interrupt once training is under way.
  for (int i = 0; i < 600 && (*first)->err().find("train: step") == std::string::npos; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  (*first)->Signal(SIGINT);
  absl::StatusOr<int> code = (*first)->Wait(kTimeout);
  ASSERT_THAT(code, testing::IsOk());
  EXPECT_EQ(*code, 1);
  EXPECT_THAT((*first)->err(), HasSubstr("interrupted at step "));
  EXPECT_TRUE(fs::exists(out / ".tontine-train-checkpoint.pt"));
  EXPECT_FALSE(fs::exists(out / "adapter_model.safetensors"));

  RunResult second = Tontine(args);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_THAT(second.err, HasSubstr("resuming from "));
  EXPECT_TRUE(fs::exists(out / "adapter_model.safetensors"));
  EXPECT_FALSE(fs::exists(out / ".tontine-train-checkpoint.pt"));
}

}  // namespace
}  // namespace tontine
