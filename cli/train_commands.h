// The training commands of `tontine`: pretrain, train-local and eval. Each returns the
// process exit code; errors are printed as "tontine: error: …".
#ifndef TONTINE_CLI_TRAIN_COMMANDS_H_
#define TONTINE_CLI_TRAIN_COMMANDS_H_

#include <filesystem>
#include <string>
#include <vector>

namespace tontine::cli {

struct PretrainArgs {
  std::filesystem::path data;
  std::string out;  // "" = the bundled base model's cache directory
  int hidden = 256;
  int layers = 4;
  int heads = 4;
  int intermediate = 704;
  int sequence_length = 128;
  int batch_size = 16;
  int steps = 700;
  double learning_rate = 3e-3;
  int warmup_steps = 60;
  double held_out_fraction = 0.02;
  uint64_t seed = 1;
  int threads = 0;
  bool force = false;
};
int RunPretrain(const PretrainArgs& args);

struct TrainLocalArgs {
  std::string base = "bundled";
  std::filesystem::path data;
  std::filesystem::path out;
  std::filesystem::path config;  // an experiment YAML; empty = its defaults
  std::vector<std::string> overrides;  // --set key.path=value, applied to config (or defaults)
  int steps = 0;                 // > 0 overrides local_training.steps
  int threads = 0;
  bool skip_bad_documents = false;
};
int RunTrainLocal(const TrainLocalArgs& args);

struct EvalArgs {
  std::string base = "bundled";
  std::filesystem::path adapter;  // empty = the base model alone
  std::filesystem::path data;
  std::filesystem::path config;   // sequence length and held-out fraction; empty = defaults
  std::vector<std::string> overrides;  // --set key.path=value, applied to config (or defaults)
  std::string split = "held-out"; // held-out, train or all
  std::filesystem::path svg;      // also write a bar chart of perplexity per group here
  int threads = 0;
  bool json = false;
  bool skip_bad_documents = false;
};
int RunEval(const EvalArgs& args);

}  // namespace tontine::cli

#endif  // TONTINE_CLI_TRAIN_COMMANDS_H_
