// Where a model comes from: a local folder, a .gguf file, or a Hugging Face repo id.
//
// A repo id ("google/gemma-4-E2B-it", optionally "org/name@revision") is looked up in the
// standard Hugging Face cache, the same one transformers and huggingface-cli use:
//   $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub
//   models--ORG--NAME/refs/<revision>            the commit a branch or tag points at
//   models--ORG--NAME/snapshots/<commit>/<file>  relative symlinks into blobs/
//   models--ORG--NAME/blobs/<etag>               file contents, named by their hub ETag
//   models--ORG--NAME/.no_exist/<commit>/<file>  optional files the hub does not have
// Missing files are downloaded from $HF_ENDPOINT (default https://huggingface.co) into that
// same layout, so either tool reuses what the other fetched.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gemma4::hub {

inline constexpr const char* kDefaultModel = "google/gemma-4-E2B-it";

// "org/name" plus the branch, tag or commit asked for ("main" unless "@rev" was given).
struct RepoRef {
  std::string repo_id;
  std::string revision = "main";
};

// Parses "org/name" or "org/name@revision"; nullopt when `text` is not shaped like a repo id.
std::optional<RepoRef> parse_repo_ref(const std::string& text);

// Progress of one file's download, reported a few times a second.
struct DownloadProgress {
  std::string file;      // path inside the repo
  uint64_t done = 0;     // bytes on disk so far (a resumed download starts above 0)
  uint64_t total = 0;    // expected size; 0 when unknown
  bool finished = false; // last report for this file
};
using ProgressFn = std::function<void(const DownloadProgress&)>;

struct HubOptions {
  std::string endpoint = "https://huggingface.co";  // no trailing slash
  std::string token;                                // sent as "Authorization: Bearer <token>"
  std::string cache_dir;                            // the hub cache (contains models--*)
  bool offline = false;                             // HF_HUB_OFFLINE: never touch the network
  ProgressFn progress;                              // optional

  // Reads HF_ENDPOINT, HF_TOKEN (or the token file under HF_HOME), HF_HUB_CACHE / HF_HOME,
  // HF_HUB_OFFLINE.
  static HubOptions from_environment();
};

// The folder of one repo in the cache: <cache>/models--ORG--NAME.
std::string repo_cache_folder(const std::string& cache_dir, const std::string& repo_id);

// The snapshot folder of `ref` in the cache when it holds every file needed to run the model
// (config.json and all weights); nullopt otherwise. Never touches the network.
std::optional<std::string> find_cached_snapshot(const RepoRef& ref, const std::string& cache_dir);

// Downloads the files needed to run the model (only those missing from the cache, resuming
// partial ones, verifying sizes and checksums) and returns the snapshot folder.
// Throws Error(ExitCode::network) when the hub cannot be reached, with what to download by hand.
std::string download_snapshot(const RepoRef& ref, const HubOptions& options);

// The files that make a runnable model, in download order; shards come from the index.
std::vector<std::string> required_files();   // config.json (the weights are found separately)
std::vector<std::string> optional_files();   // tokenizer, chat template, processor, generation config

struct ResolvedModel {
  enum class Kind { folder, gguf };
  Kind kind = Kind::folder;
  std::string path;      // the folder (a cache snapshot for repo ids) or the .gguf file
  std::string repo_id;   // set when it came from the hub
};

// Turns the user's MODEL argument into something on disk: an existing folder or .gguf file as
// is; a repo id from the cache, downloading it when absent. Clear errors for everything else.
ResolvedModel resolve_model(const std::string& model, const HubOptions& options);

}  // namespace gemma4::hub
