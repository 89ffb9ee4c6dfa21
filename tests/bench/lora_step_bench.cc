// One LoRA training step of the Llama-family model (issue 3): step time, tokens/s and achieved
// GFLOP/s, each set against an fp32 torch GEMM peak measured in the same run, and peak RSS.
//
//   lora_step_bench [--shape tiny|smol|all] [--threads N] [--steps N] [--warmup N]
//                   [--checkpointing auto|on|off] [--train ab|b] [--json]
//
// A step is what Train() does per micro-batch: forward and the chunked NLL over every position
// (CausalLm::NllSum / tokens), backward, AdamW on the adapter parameters. The FLOP count is the
// model's useful work (no recomputation counted); see README.md for the formula.
// tests/bench/lora_step_reference.py measures the same step in Python PyTorch eager.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/base/cpu.h"
#include "common/base/logging.h"
#include "common/ml/lora.h"
#include "common/ml/model.h"
#include "common/ml/model_config.h"
#include "common/ml/runtime.h"
#include "nlohmann/json.hpp"

namespace tontine::ml {
namespace {

struct Shape {
  std::string name;
  ModelConfig config;
  int64_t batch = 0;
  int64_t sequence = 0;
  int default_steps = 0;
  int default_warmup = 0;
};

ModelConfig LlamaConfig(int64_t vocab, int64_t hidden, int64_t intermediate, int64_t layers,
                        int64_t heads, int64_t kv_heads, double rope_theta) {
  ModelConfig c;
  c.vocab_size = vocab;
  c.hidden_size = hidden;
  c.intermediate_size = intermediate;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = hidden / heads;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = rope_theta;
  c.tie_word_embeddings = true;
  return c;
}

// (i) the bundled byte-level size: vocab 259 (ByteTokenizer), intermediate ≈ 8/3·d rounded up
// to a multiple of 16. (ii) SmolLM2-135M's config.json, random weights.
std::vector<Shape> AllShapes() {
  return {
      {"tiny", LlamaConfig(259, 256, 688, 4, 4, 4, 10000.0), 8, 128, 20, 3},
      {"smol", LlamaConfig(49152, 576, 1536, 30, 9, 3, 100000.0), 4, 256, 5, 2},
  };
}

struct Flags {
  std::string shape = "all";
  int threads = 0;  // 0 = every core
  int steps = 0;    // 0 = the shape's default
  int warmup = -1;  // -1 = the shape's default
  std::string checkpointing = "auto";
  std::string train = "ab";
  bool json = false;
};

[[noreturn]] void Usage(const std::string& error) {
  std::fprintf(stderr,
               "lora_step_bench: %s\nusage: lora_step_bench [--shape tiny|smol|all] [--threads N]"
               " [--steps N] [--warmup N] [--checkpointing auto|on|off] [--train ab|b] [--json]\n",
               error.c_str());
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      size_t eq = arg.find('=');
      if (eq != std::string::npos) return arg.substr(eq + 1);
      if (i + 1 >= argc) Usage("missing value for " + arg);
      return argv[++i];
    };
    std::string key = arg.substr(0, arg.find('='));
    if (key == "--json") f.json = true;
    else if (key == "--shape") f.shape = value();
    else if (key == "--threads") f.threads = std::stoi(value());
    else if (key == "--steps") f.steps = std::stoi(value());
    else if (key == "--warmup") f.warmup = std::stoi(value());
    else if (key == "--checkpointing") f.checkpointing = value();
    else if (key == "--train") f.train = value();
    else Usage("unknown flag " + arg);
  }
  if (f.shape != "tiny" && f.shape != "smol" && f.shape != "all") Usage("bad --shape");
  if (f.checkpointing != "auto" && f.checkpointing != "on" && f.checkpointing != "off") {
    Usage("bad --checkpointing");
  }
  if (f.train != "ab" && f.train != "b") Usage("bad --train");
  return f;
}

// ---- memory ----

int64_t ReadStatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::atoll(line.c_str() + std::string(field).size());
  }
  return 0;
}

// Resets the kernel's peak-RSS mark (VmHWM, ru_maxrss) so that each shape reports its own.
bool ResetPeakRss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  return static_cast<bool>(out.flush());
}

// Kernel CPU seconds and minor page faults of this process so far (the cost of fresh pages:
// large tensors come from mmap, or from a heap that glibc trims, and are faulted in anew).
std::pair<double, int64_t> SysSecondsAndFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return {usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6, usage.ru_minflt};
}

double PeakRssMib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // kB on Linux
}

// ---- FLOPs ----

// Useful FLOPs of one LoRA step, nothing recomputed counted (README.md):
//   forward   2·P·N + 4·L·B·T²·Hq·D + 2·N·Σ r(in+out)
//   backward  2·P·N + 8·L·B·T²·Hq·D + 4·N·Σ r(in+out)   (input grads of the frozen matmuls,
//             both attention products, the LoRA input grads and A/B weight grads)
// P = MatmulParameters (projections + output head), N = B·T tokens; full T² (the implementation
// computes the masked upper triangle too).
struct FlopCount {
  double forward = 0;
  double backward = 0;
  double total() const { return forward + backward; }
};

FlopCount StepFlops(const ModelConfig& c, int64_t batch, int64_t seq, int64_t rank,
                    int64_t adapters_per_layer_in_out) {
  const double n = static_cast<double>(batch * seq);
  const double matmul = 2.0 * static_cast<double>(c.MatmulParameters()) * n;
  const double attention = 4.0 * c.num_hidden_layers * batch * static_cast<double>(seq) * seq *
                           c.num_attention_heads * c.head_dim;
  const double lora =
      2.0 * n * c.num_hidden_layers * rank * static_cast<double>(adapters_per_layer_in_out);
  return {matmul + attention + lora, matmul + 2.0 * attention + 2.0 * lora};
}

// ---- GEMM peak ----

// Best fp32 torch::mm rate for [m, k]·[k, n] over `reps` products after a warm-up one. The
// machine's speed drifts (it is a shared VM), so the peak is probed after every timed step
// and each step is set against the probe next to it.
double GemmGflops(int64_t m, int64_t k, int64_t n, int reps) {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({m, k}), b = torch::randn({k, n});
  auto c = torch::mm(a, b);
  double best = 0;
  for (int i = 0; i < reps; ++i) {
    const absl::Time start = absl::Now();
    torch::mm_out(c, a, b);
    best = std::max(best, 2.0 * m * k * n / absl::ToDoubleSeconds(absl::Now() - start) / 1e9);
  }
  return best;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// ---- one shape ----

nlohmann::json RunShape(const Shape& shape, const Flags& flags) {
  const ModelConfig& c = shape.config;
  const int steps = flags.steps > 0 ? flags.steps : shape.default_steps;
  const int warmup = flags.warmup >= 0 ? flags.warmup : shape.default_warmup;
  const bool checkpointing =
      flags.checkpointing == "on" || (flags.checkpointing == "auto" && shape.name == "smol");
  const int64_t n = shape.batch * shape.sequence;

  const bool reset = ResetPeakRss();
  const double baseline_mib = ReadStatusKb("VmRSS:") / 1024.0;

  CausalLm model(c);
  model->InitRandom(1234);
  update::LoraSpec spec;
  spec.rank = 8;
  spec.alpha = 16;
  spec.dropout = 0;
  spec.target_modules = {"q_proj", "v_proj"};
  if (absl::Status st = InjectLora(model, spec); !st.ok()) {
    std::fprintf(stderr, "InjectLora: %s\n", st.ToString().c_str());
    std::exit(1);
  }
  SetTrainable(model, flags.train == "b" ? TrainedMatrices::kB : TrainedMatrices::kAB);
  model->set_activation_checkpointing(checkpointing);
  std::vector<torch::Tensor> params = TrainableParameters(model);
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(1e-4).weight_decay(0.01));
  model->train();

  auto generator = at::detail::createCPUGenerator(99);
  auto tokens = torch::randint(c.vocab_size, {shape.batch, shape.sequence + 1}, generator,
                               torch::kInt64);
  auto inputs = tokens.narrow(1, 0, shape.sequence);
  auto targets = tokens.narrow(1, 1, shape.sequence);
  auto mask = torch::ones({shape.batch, shape.sequence});

  // q_proj: in hidden, out Hq·D; v_proj: in hidden, out Hkv·D.
  const int64_t in_out = (c.hidden_size + c.num_attention_heads * c.head_dim) +
                         (c.hidden_size + c.num_key_value_heads * c.head_dim);
  const FlopCount flops = StepFlops(c, shape.batch, shape.sequence, spec.rank, in_out);
  std::vector<double> step_s, forward_s, backward_s, optimizer_s;
  // Per timed step: n = 1024 GEMM, the model's representative GEMM (the MLP's up projection
  // over the step's tokens), and the step's rate against each.
  std::vector<double> gemm_1024, gemm_model, fraction_1024, fraction_model;
  double loss_value = 0, rss_after_forward_mib = 0;
  double sys_s = 0;
  int64_t faults = 0;
  for (int i = 0; i < warmup + steps; ++i) {
    const auto [sys0, faults0] = SysSecondsAndFaults();
    const absl::Time t0 = absl::Now();
    optimizer.zero_grad();
    torch::Tensor loss = model->NllSum(inputs, targets, mask) / static_cast<double>(n);
    const absl::Time t1 = absl::Now();
    rss_after_forward_mib = std::max(rss_after_forward_mib, ReadStatusKb("VmRSS:") / 1024.0);
    loss.backward();
    const absl::Time t2 = absl::Now();
    optimizer.step();
    const absl::Time t3 = absl::Now();
    const auto [sys1, faults1] = SysSecondsAndFaults();
    loss_value = loss.item<double>();
    if (i < warmup) continue;
    sys_s += sys1 - sys0;
    faults += faults1 - faults0;
    forward_s.push_back(absl::ToDoubleSeconds(t1 - t0));
    backward_s.push_back(absl::ToDoubleSeconds(t2 - t1));
    optimizer_s.push_back(absl::ToDoubleSeconds(t3 - t2));
    step_s.push_back(absl::ToDoubleSeconds(t3 - t0));
    loss = torch::Tensor();  // the graph's memory is free again before the probe
    const double step_gflops = flops.total() / step_s.back() / 1e9;
    gemm_1024.push_back(GemmGflops(1024, 1024, 1024, 5));
    gemm_model.push_back(GemmGflops(n, c.hidden_size, c.intermediate_size, 6));
    fraction_1024.push_back(step_gflops / gemm_1024.back());
    fraction_model.push_back(step_gflops / gemm_model.back());
  }

  const double step = Median(step_s);
  const double gflops = flops.total() / step / 1e9;
  const double peak_mib = PeakRssMib();
  int64_t trainable = 0;
  for (const auto& p : params) trainable += p.numel();
  return {
      {"shape", shape.name},
      {"threads", torch::get_num_threads()},
      {"batch", shape.batch},
      {"sequence", shape.sequence},
      {"parameters", c.ParameterCount()},
      {"trainable_parameters", trainable},
      {"trained", flags.train == "b" ? "B" : "A+B"},
      {"checkpointing", checkpointing},
      {"steps", steps},
      {"warmup", warmup},
      {"loss", loss_value},
      {"step_s", step},
      {"step_min_s", *std::min_element(step_s.begin(), step_s.end())},
      {"forward_s", Median(forward_s)},
      {"backward_s", Median(backward_s)},
      {"optimizer_s", Median(optimizer_s)},
      {"sys_s_per_step", sys_s / steps},
      {"minor_faults_per_step", faults / steps},
      {"tokens_per_s", static_cast<double>(n) / step},
      {"step_gflop", flops.total() / 1e9},
      {"forward_gflop", flops.forward / 1e9},
      {"gflops", gflops},
      {"gemm_model_gflops", Median(gemm_model)},
      {"gemm_1024_gflops", Median(gemm_1024)},
      {"gemm_1024_max_gflops", *std::max_element(gemm_1024.begin(), gemm_1024.end())},
      // Medians over the steps of (step GFLOP/s) / (the probe after it).
      {"fraction_of_gemm_1024", Median(fraction_1024)},
      {"fraction_of_gemm_model", Median(fraction_model)},
      // Tokens/s the step would reach if it ran every useful FLOP at the n=1024 GEMM rate.
      {"tokens_per_s_at_peak",
       static_cast<double>(n) / (flops.total() / (Median(gemm_1024) * 1e9))},
      {"peak_rss_mib", peak_mib},
      {"peak_rss_reset", reset},
      {"baseline_rss_mib", baseline_mib},
      {"rss_growth_mib", peak_mib - baseline_mib},
      // What forward leaves for backward (saved activations) on top of the model.
      {"rss_after_forward_mib", rss_after_forward_mib},
  };
}

void PrintTable(const nlohmann::json& runtime, const std::vector<nlohmann::json>& rows) {
  std::printf("%s\n", runtime["summary"].get<std::string>().c_str());
  std::printf("%-5s %5s %7s %8s %8s %8s %9s %7s %7s %7s %8s %8s\n", "shape", "ckpt", "step s",
              "fwd s", "bwd s", "tok/s", "GFLOP/s", "peak", "%peak", "%model", "RSS MiB",
              "+base MiB");
  for (const auto& r : rows) {
    std::printf("%-5s %5s %7.3f %8.3f %8.3f %8.0f %9.1f %7.0f %6.1f%% %6.1f%% %8.0f %8.0f\n",
                r["shape"].get<std::string>().c_str(), r["checkpointing"].get<bool>() ? "on" : "off",
                r["step_s"].get<double>(), r["forward_s"].get<double>(),
                r["backward_s"].get<double>(), r["tokens_per_s"].get<double>(),
                r["gflops"].get<double>(), r["gemm_1024_gflops"].get<double>(),
                100 * r["fraction_of_gemm_1024"].get<double>(),
                100 * r["fraction_of_gemm_model"].get<double>(), r["peak_rss_mib"].get<double>(),
                r["rss_growth_mib"].get<double>());
  }
  std::printf("peak = torch::mm fp32 GFLOP/s at n=1024; %%model = against the [B·T, hidden]·"
              "[hidden, intermediate] GEMM; GFLOP/s counts useful FLOPs only (README.md)\n");
}

int Main(int argc, char** argv) {
  const Flags flags = ParseFlags(argc, argv);
  // Logs go to stderr, so that stdout holds the table or the JSON alone.
  if (absl::Status st = InitLogging("lora_step_bench", "warn"); !st.ok()) return 1;
  const RuntimeReport report = ConfigureRuntime(flags.threads);
  nlohmann::json runtime = {{"summary", report.Summary()},
                            {"threads", report.threads},
                            {"blas", report.blas_library},
                            {"openblas_core", report.openblas_core},
                            {"torch", absl::StrFormat("%d.%d.%d", TORCH_VERSION_MAJOR,
                                                      TORCH_VERSION_MINOR, TORCH_VERSION_PATCH)}};
  std::vector<nlohmann::json> rows;
  for (const Shape& shape : AllShapes()) {
    if (flags.shape == "all" || flags.shape == shape.name) rows.push_back(RunShape(shape, flags));
  }
  if (flags.json) {
    std::cout << nlohmann::json{{"implementation", "c++"}, {"runtime", runtime}, {"results", rows}}
                     .dump(2)
              << "\n";
  } else {
    PrintTable(runtime, rows);
  }
  return 0;
}

}  // namespace
}  // namespace tontine::ml

int main(int argc, char** argv) {
  tontine::EnsureOpenBlasCoreType(argc, argv);
  return tontine::ml::Main(argc, argv);
}
