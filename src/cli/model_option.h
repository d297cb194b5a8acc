// The -m/--model option shared by run, chat and serve, and turning its value into files on
// disk (a folder, a .gguf file, or a hub repo fetched into the Hugging Face cache on first use).
#pragma once
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>

#include "io/hub.h"
#include "ui/terminal.h"

namespace gemma4::cli {

inline CLI::Option* add_model_option(CLI::App& app, std::string& model) {
  model = hub::kDefaultModel;
  return app
      .add_option("-m,--model", model,
                  "model folder, .gguf file, or Hugging Face repo id ORG/NAME[@REVISION] (downloaded into the "
                  "Hugging Face cache on first use)")
      ->capture_default_str();
}

// --mmproj FILE: the llama.cpp mmproj GGUF with the vision and audio towers of a .gguf model.
inline CLI::Option* add_mmproj_option(CLI::App& app, std::string& mmproj) {
  return app.add_option("--mmproj", mmproj,
                        "llama.cpp mmproj .gguf holding the vision and audio towers (with a .gguf model)");
}

// Resolves MODEL, saying on stderr when a download starts (unless quiet).
inline hub::ResolvedModel resolve_model_option(const std::string& model, bool quiet) {
  auto options = hub::HubOptions::from_environment();
  options.progress = ui::download_progress(quiet);
  auto ref = hub::parse_repo_ref(model);
  if (!quiet && ref && !std::filesystem::exists(model) && !hub::find_cached_snapshot(*ref, options.cache_dir))
    std::fprintf(stderr, "%s is not in %s yet: downloading it from %s\n", model.c_str(), options.cache_dir.c_str(),
                 options.endpoint.c_str());
  return hub::resolve_model(model, options);
}

}  // namespace gemma4::cli
