// gemma4 inspect: list the tensors of a checkpoint (names, dtypes, shapes).
#include <cstdio>

#include "cli/args.h"
#include "cli/command.h"
#include "io/safetensors.h"

namespace {

int run_inspect(int argc, char** argv) {
  CLI::App app{"List the tensors stored in a model folder or .safetensors file."};
  std::string model;
  app.add_option("model", model, "model folder, .safetensors or .index.json file")->required();
  GEMMA4_PARSE(app, argc, argv);
  auto store = gemma4::TensorStore::open(model);
  size_t bytes = 0;
  for (const auto& [name, t] : store.tensors()) {
    std::printf("%-80s %-5s %s\n", name.c_str(), gemma4::dtype_name(t.dtype).c_str(), t.shape_str().c_str());
    bytes += t.nbytes;
  }
  std::printf("%zu tensors, %.1f MB\n", store.tensors().size(), bytes / 1e6);
  return 0;
}

}  // namespace

GEMMA4_COMMAND("inspect", "list the tensors of a checkpoint", run_inspect);
