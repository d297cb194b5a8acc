// gemma4 generate: prefill token ids, generate, print the generated ids as a JSON array.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/ids.h"
#include "runtime/session.h"

namespace {

using namespace gemma4;

int run_generate(int argc, char** argv) {
  CLI::App app{"Generate tokens from a prompt of token ids; prints the generated ids as a JSON array."};
  std::string model, ids_text;
  GenerateOptions options;
  bool greedy = false;
  app.add_option("--model", model, "model folder")->required();
  app.add_option("--ids", ids_text, "comma-separated prompt token ids, e.g. 2,17,33")->required();
  app.add_option("--max-tokens", options.max_tokens, "most tokens to generate")->check(CLI::NonNegativeNumber);
  app.add_flag("--greedy", greedy, "argmax decoding (the default unless --temperature is given)");
  auto* temperature = app.add_option("--temperature", options.sampling.temperature, "sampling temperature");
  app.add_option("--top-k", options.sampling.top_k, "sample among the k most likely tokens (0 = all)");
  app.add_option("--top-p", options.sampling.top_p, "nucleus sampling mass");
  app.add_option("--seed", options.sampling.seed, "random seed for sampling");
  app.add_flag("--ignore-eos", options.ignore_eos, "do not stop at the model's stop ids");
  GEMMA4_PARSE(app, argc, argv);

  options.sampling.greedy = greedy || temperature->count() == 0;
  const std::vector<int64_t> ids = cli::parse_ids(ids_text);
  Session session(TextDecoder::load(model));
  std::vector<int64_t> out;
  if (options.max_tokens > 0) out = session.generate(ids, options);
  std::printf("%s\n", nlohmann::json(out).dump().c_str());
  return 0;
}

}  // namespace

GEMMA4_COMMAND("generate", "generate token ids from token ids (JSON array)", run_generate);
