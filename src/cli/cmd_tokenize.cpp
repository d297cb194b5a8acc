// gemma4 tokenize: text -> token ids with the model's tokenizer.
//   --text "..."      prints the ids as a JSON array
//   --jsonl FILE      reads {"text": ...} lines, writes {"ids": [...]} lines
//   --bench FILE      (hidden) tokenizes FILE's text (a .jsonl's "text" fields, else its lines)
//                     repeated to --bench-mb megabytes and reports MB/s
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"
#include "cli/args.h"
#include "cli/command.h"
#include "text/tokenizer.h"

namespace {

using gemma4::Error;
using gemma4::ExitCode;
using json = nlohmann::json;

std::vector<std::string> read_texts(const std::string& path, bool jsonl) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open " + path, ExitCode::not_found);
  std::vector<std::string> texts;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (!jsonl) {
      texts.push_back(line + "\n");
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("text") || !j["text"].is_string())
      throw Error(path + ":" + std::to_string(n) + ": expected a JSON object with a string \"text\"", ExitCode::bad_input);
    texts.push_back(j["text"].get<std::string>());
  }
  return texts;
}

int bench(const gemma4::Tokenizer& tok, const std::string& file, double mb) {
  bool jsonl = file.size() > 6 && file.compare(file.size() - 6, 6, ".jsonl") == 0;
  std::vector<std::string> texts = read_texts(file, jsonl);
  if (texts.empty()) throw Error("no text in " + file, ExitCode::bad_input);
  size_t bytes = 0, tokens = 0;
  const size_t target = static_cast<size_t>(mb * 1e6);
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; bytes < target; i = (i + 1) % texts.size()) {
    tokens += tok.encode(texts[i]).size();
    bytes += texts[i].size();
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"bytes\": %zu, \"tokens\": %zu, \"seconds\": %.3f, \"MB_per_s\": %.2f, \"tokens_per_s\": %.0f}\n", bytes,
              tokens, s, bytes / 1e6 / s, tokens / s);
  return 0;
}

int run_tokenize(int argc, char** argv) {
  CLI::App app{"Turn text into Gemma 4 token ids (no BOS is added; special-token text is honoured)."};
  std::string model, text, jsonl, bench_file;
  double bench_mb = 4;
  app.add_option("--model,-m", model, "model folder (or a folder with tokenizer.json)")->required();
  auto* text_opt = app.add_option("--text,-t", text, "text to tokenize; prints a JSON array of ids");
  auto* jsonl_opt = app.add_option("--jsonl", jsonl, "file of {\"text\": ...} lines; writes {\"ids\": [...]} lines");
  auto* bench_opt = app.add_option("--bench", bench_file, "")->group("");
  app.add_option("--bench-mb", bench_mb, "")->group("");
  text_opt->excludes(jsonl_opt);
  GEMMA4_PARSE(app, argc, argv);

  auto t0 = std::chrono::steady_clock::now();
  gemma4::Tokenizer tok = gemma4::Tokenizer::load(model);
  if (bench_opt->count()) {
    std::fprintf(stderr, "tokenizer loaded in %.3f s\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return bench(tok, bench_file, bench_mb);
  }
  if (text_opt->count()) {
    std::cout << json(tok.encode(text)).dump() << "\n";
    return 0;
  }
  if (jsonl_opt->count()) {
    for (const std::string& t : read_texts(jsonl, true)) std::cout << json{{"ids", tok.encode(t)}}.dump() << "\n";
    return 0;
  }
  throw Error("give --text or --jsonl (see gemma4 tokenize --help)", ExitCode::usage);
}

}  // namespace

GEMMA4_COMMAND("tokenize", "text -> token ids (--text or --jsonl)", run_tokenize);
