// gemma4 logits: one prefill; writes float32 [n_tokens, vocab] logits as a NumPy .npy file.
#include "cli/args.h"
#include "cli/command.h"
#include "cli/ids.h"
#include "io/npy.h"
#include "model/text_decoder.h"

namespace {

using namespace gemma4;

int run_logits(int argc, char** argv) {
  CLI::App app{"Run one prefill over token ids and write the logits of every position (.npy)."};
  std::string model, ids_text, out;
  app.add_option("--model", model, "model folder or .gguf file")->required();
  app.add_option("--ids", ids_text, "comma-separated token ids, e.g. 2,17,33")->required();
  app.add_option("--out", out, "output .npy file")->required();
  GEMMA4_PARSE(app, argc, argv);

  const std::vector<int64_t> ids = cli::parse_ids(ids_text);
  auto decoder = TextDecoder::load(model);
  KVCache cache = decoder->new_cache();
  Chunk chunk{&cache, ids, {}};
  const std::vector<float> logits = decoder->forward(std::span<Chunk>(&chunk, 1), LogitsMode::all);
  write_npy(out, logits.data(), {static_cast<int64_t>(ids.size()), decoder->vocab_size()});
  return 0;
}

}  // namespace

GEMMA4_COMMAND("logits", "write the logits of one prefill as .npy", run_logits);
