// tontine: the researcher's tool.
//
//   tontine validate FILE...   check config files; stops at the first bad one
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common/base/cli.h"
#include "common/base/version.h"
#include "common/config/validate.h"

namespace tontine {
namespace {

constexpr char kProgram[] = "tontine";

int RunValidate(const std::vector<std::string>& files) {
  for (const std::string& file : files) {
    absl::StatusOr<std::string> summary = config::ValidateConfigFile(file);
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
  CLI::App app{"Tontine: federated LoRA fine-tuning for community language data"};
  app.set_version_flag("--version", std::string(kVersion));
  app.require_subcommand(1);

  std::vector<std::string> files;
  CLI::App* validate = app.add_subcommand(
      "validate", "check experiment, coordinator and client config files");
  validate->add_option("files", files, "YAML files")->required();

  CLI11_PARSE(app, argc, argv);
  if (*validate) return RunValidate(files);
  return 0;
}
