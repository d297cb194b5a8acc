#include "io/hub.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "base/error.h"
#include "io/http.h"

namespace fs = std::filesystem;

namespace gemma4::hub {
namespace {

constexpr const char* kWeightsFile = "model.safetensors";
constexpr const char* kWeightsIndex = "model.safetensors.index.json";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool env_flag(const char* name) {
  std::string v = env(name);
  for (auto& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return v == "1" || v == "ON" || v == "YES" || v == "TRUE";
}

std::string home_dir() {
  std::string home = env("HOME");
  return home.empty() ? std::string("/root") : home;
}

bool is_hex(const std::string& s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

bool is_commit_hash(const std::string& revision) { return is_hex(revision, 40); }

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::trunc);
  out << text;
  check(static_cast<bool>(out), "cannot write " + p.string(), ExitCode::failure);
}

// The commit a revision names in the cache: itself when it is a commit hash, else refs/<rev>.
std::optional<std::string> cached_commit(const fs::path& repo_dir, const std::string& revision) {
  if (is_commit_hash(revision)) return revision;
  fs::path ref = repo_dir / "refs" / revision;
  if (!fs::is_regular_file(ref)) return std::nullopt;
  std::string commit = read_text(ref);
  while (!commit.empty() && std::isspace(static_cast<unsigned char>(commit.back()))) commit.pop_back();
  if (commit.empty()) return std::nullopt;
  return commit;
}

// The shard files named by a safetensors index (its weight_map values), in order, deduplicated.
std::vector<std::string> shards_of_index(const fs::path& index_file) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text(index_file));
  } catch (const nlohmann::json::exception& e) {
    throw Error(index_file.string() + " is not valid JSON: " + e.what(), ExitCode::bad_input);
  }
  check(j.contains("weight_map") && j["weight_map"].is_object(),
        index_file.string() + " has no \"weight_map\" object");
  std::vector<std::string> shards;
  std::set<std::string> seen;
  for (const auto& [tensor, file] : j["weight_map"].items()) {
    check(file.is_string(), index_file.string() + ": weight_map values must be file names");
    std::string f = file.get<std::string>();
    check(f.find("..") == std::string::npos && !f.empty() && f[0] != '/',
          index_file.string() + ": unsafe shard file name '" + f + "'");
    if (seen.insert(f).second) shards.push_back(f);
  }
  return shards;
}

bool snapshot_complete(const fs::path& snapshot) {
  if (!fs::is_regular_file(snapshot / "config.json")) return false;  // follows the symlink
  if (fs::is_regular_file(snapshot / kWeightsIndex)) {
    for (const auto& shard : shards_of_index(snapshot / kWeightsIndex))
      if (!fs::is_regular_file(snapshot / shard)) return false;
    return true;
  }
  return fs::is_regular_file(snapshot / kWeightsFile);
}

// ---- checksums (OpenSSL) ----------------------------------------------------------------

// The hub names a file by its ETag: the sha256 of the contents for LFS files, the git blob
// sha1 ("blob <size>\0" + contents) for small files. Anything else is not checkable.
class ContentDigest {
 public:
  ContentDigest(const std::string& etag, uint64_t size) : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (is_hex(etag, 64)) {
      EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
      active_ = true;
    } else if (is_hex(etag, 40) && size > 0) {
      EVP_DigestInit_ex(ctx_.get(), EVP_sha1(), nullptr);
      std::string header = "blob " + std::to_string(size);
      EVP_DigestUpdate(ctx_.get(), header.data(), header.size() + 1);  // with the NUL
      active_ = true;
    }
  }
  bool active() const { return active_; }
  void update(const void* data, size_t n) {
    if (active_) EVP_DigestUpdate(ctx_.get(), data, n);
  }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &n);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
      out += digits[md[i] >> 4];
      out += digits[md[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
  bool active_ = false;
};

void digest_existing(ContentDigest& digest, const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    digest.update(buf.data(), static_cast<size_t>(in.gcount()));
  }
}

std::string to_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// An exclusive flock(2) on a lock file, held for the object's lifetime (the same kind of lock
// Python's filelock takes, which huggingface_hub uses).
class BlobLock {
 public:
  explicit BlobLock(const fs::path& path) {
    fs::create_directories(path.parent_path());
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);  // without a lock file we still work, just unguarded
  }
  ~BlobLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  BlobLock(const BlobLock&) = delete;
  BlobLock& operator=(const BlobLock&) = delete;

 private:
  int fd_ = -1;
};

void check_disk_space(const fs::path& folder, uint64_t needed, const std::string& file) {
  std::error_code ec;
  auto space = fs::space(folder, ec);
  if (ec || space.available >= needed) return;
  throw Error("not enough disk space for " + file + ": it needs " + std::to_string(needed / 1000000) + " MB more, " +
                  folder.string() + " has " + std::to_string(space.available / 1000000) +
                  " MB free. Free some space or point HF_HUB_CACHE (or HF_HOME) at a larger disk.",
              ExitCode::failure);
}

// ---- talking to the hub ---------------------------------------------------------------

struct FileMeta {
  std::string file;   // path inside the repo
  std::string url;    // where to GET it (the resolve URL; redirects are followed)
  std::string etag;   // normalised: no quotes, no W/
  std::string commit;
  uint64_t size = 0;
};

std::string normalise_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

uint64_t parse_size(const std::string& s) {
  try {
    return s.empty() ? 0 : std::stoull(s);
  } catch (...) {
    return 0;
  }
}

class HubClient {
 public:
  HubClient(const RepoRef& ref, const HubOptions& options)
      : ref_(ref), options_(options), repo_dir_(repo_cache_folder(options.cache_dir, ref.repo_id)) {
    if (!options.token.empty()) headers_.push_back("Authorization: Bearer " + options.token);
  }

  const fs::path& repo_dir() const { return repo_dir_; }

  std::string resolve_url(const std::string& revision, const std::string& file) const {
    return options_.endpoint + "/" + ref_.repo_id + "/resolve/" + http::escape(revision) + "/" + file;
  }

  // HEAD of one file. nullopt when the hub says it does not exist (404) and it is optional.
  std::optional<FileMeta> metadata(const std::string& revision, const std::string& file, bool required) {
    std::string url = resolve_url(revision, file);
    for (int hop = 0; hop < 5; ++hop) {
      http::Result r = http::head(url, headers_);
      if (r.transport_error) throw unreachable(r.transport_message);
      if (r.status >= 300 && r.status < 400 && r.header("x-linked-etag").empty()) {
        // A renamed repo: follow the (usually relative) redirect and ask again.
        std::string location = r.header("location");
        check(!location.empty(), "the hub sent a redirect without a location for " + file, ExitCode::network);
        url = location[0] == '/' ? options_.endpoint + location : location;
        continue;
      }
      std::string code = r.header("x-error-code");
      // The real hub answers 401 RepoNotFound for a repo that does not exist (or is private).
      if (code == "RepoNotFound" && (r.status == 401 || r.status == 404)) throw not_found_repo();
      if (r.status == 401 || r.status == 403) throw unauthorized(r.status);
      if (r.status == 404) {
        if (code == "RevisionNotFound")
          throw Error("revision '" + ref_.revision + "' does not exist in " + ref_.repo_id, ExitCode::not_found);
        if (required) throw Error(ref_.repo_id + " has no " + file + " at revision " + revision +
                                  ": it is not a model this program can run", ExitCode::not_found);
        return std::nullopt;
      }
      if (r.status < 200 || r.status >= 400)
        throw Error("the hub answered HTTP " + std::to_string(r.status) + " for " + url, ExitCode::network);
      FileMeta m;
      m.file = file;
      m.url = resolve_url(revision, file);
      std::string linked = r.header("x-linked-etag");
      m.etag = normalise_etag(linked.empty() ? r.header("etag") : linked);
      std::string linked_size = r.header("x-linked-size");
      m.size = parse_size(linked_size.empty() ? r.header("content-length") : linked_size);
      m.commit = r.header("x-repo-commit");
      check(!m.etag.empty() && m.etag.find('/') == std::string::npos && m.etag.find("..") == std::string::npos,
            "the hub sent no usable ETag for " + file + " (is HF_ENDPOINT a Hugging Face hub?)", ExitCode::network);
      return m;
    }
    throw Error("too many redirects for " + file, ExitCode::network);
  }

  // Makes snapshots/<commit>/<file> point at a verified blob, downloading it when needed.
  void ensure(const std::string& commit, const FileMeta& m) {
    fs::path target = snapshot_path(commit, m.file);
    fs::path blob = repo_dir_ / "blobs" / m.etag;
    auto have_blob = [&] { return fs::is_regular_file(blob) && (m.size == 0 || fs::file_size(blob) == m.size); };
    if (!have_blob()) {
      BlobLock lock(lock_path(m.etag));  // another process may be fetching the same file
      if (!have_blob()) download_blob(m, blob);
    }
    link(blob, target);
  }

  fs::path snapshot_path(const std::string& commit, const std::string& file) const {
    return repo_dir_ / "snapshots" / commit / file;
  }

  // Records an optional file the hub does not have, as huggingface_hub does.
  void mark_absent(const std::string& commit, const std::string& file) {
    write_text(repo_dir_ / ".no_exist" / commit / file, "");
  }
  bool known_absent(const std::string& commit, const std::string& file) const {
    return fs::exists(repo_dir_ / ".no_exist" / commit / file);
  }

  Error unreachable(const std::string& why) const {
    std::string repo_url = options_.endpoint + "/" + ref_.repo_id;
    std::string message =
        "cannot reach " + options_.endpoint + " (" + why + ") to download " + ref_.repo_id + ".\n" +
        "  Without network, fetch these files from " + repo_url + " on another machine:\n    config.json, " +
        kWeightsFile + " (or " + kWeightsIndex + " and its shards)";
    for (const auto& f : optional_files()) message += ", " + f;
    message += "\n  then either pass their folder with -m FOLDER, or copy the folder " +
               repo_cache_folder(options_.cache_dir, ref_.repo_id) +
               " made by `huggingface-cli download " + ref_.repo_id + "` into the same place here.";
    return Error(message, ExitCode::network);
  }

 private:
  Error unauthorized(long status) const {
    std::string how = options_.token.empty()
                          ? "set HF_TOKEN to a Hugging Face access token (https://huggingface.co/settings/tokens)"
                          : "check that HF_TOKEN is valid";
    return Error(ref_.repo_id + ": the hub refused access (HTTP " + std::to_string(status) +
                     "). The repo may be gated or private, or may not exist: " + how +
                     ", and accept the model's license on its page " + options_.endpoint + "/" + ref_.repo_id,
                 ExitCode::network);
  }
  Error not_found_repo() const {
    std::string hint = options_.token.empty() ? "; if it is private, set HF_TOKEN" : "";
    return Error("no repository " + ref_.repo_id + " on " + options_.endpoint +
                     " (and no local folder of that name): check the spelling" + hint,
                 ExitCode::not_found);
  }

  // Where huggingface_hub keeps its lock for a blob, so the two tools also exclude each other.
  fs::path lock_path(const std::string& etag) const {
    return repo_dir_.parent_path() / ".locks" / repo_dir_.filename() / (etag + ".lock");
  }

  void download_blob(const FileMeta& m, const fs::path& blob) {
    fs::create_directories(blob.parent_path());
    fs::path part = blob;
    part += ".incomplete";
    uint64_t offset = fs::is_regular_file(part) ? fs::file_size(part) : 0;
    if (m.size > 0 && offset > m.size) {
      fs::remove(part);
      offset = 0;
    }
    check_disk_space(blob.parent_path(), m.size > offset ? m.size - offset : 0, m.file);
    auto digest = std::make_unique<ContentDigest>(m.etag, m.size);
    if (offset > 0) digest_existing(*digest, part);  // resume: the hash covers the whole file
    std::unique_ptr<FILE, int (*)(FILE*)> out(std::fopen(part.c_str(), "ab"), std::fclose);
    check(out != nullptr, "cannot write " + part.string() + " (is the cache folder writable?)", ExitCode::failure);

    report(m, offset, false);
    if (m.size == 0 || offset < m.size) {
      bool first = true;
      http::Streaming s;
      s.on_data = [&](const char* data, size_t n, long status) {
        if (first && offset > 0 && status == 200) {
          // The server ignored the Range request: start over.
          out.reset(std::fopen(part.c_str(), "wb"));
          if (!out) return false;
          digest = std::make_unique<ContentDigest>(m.etag, m.size);
          offset = 0;
        }
        first = false;
        digest->update(data, n);
        return std::fwrite(data, 1, n, out.get()) == n;
      };
      s.on_progress = [&](uint64_t received, uint64_t) { report(m, offset + received, false); };
      http::Result r = http::get(m.url, headers_, offset, s);
      std::fflush(out.get());
      if (r.transport_error == 0 && (r.status == 401 || r.status == 403)) throw unauthorized(r.status);
      if (r.transport_error == 0 && !r.ok())
        throw Error("downloading " + m.file + ": the server answered HTTP " + std::to_string(r.status),
                    ExitCode::network);
      if (r.transport_error) {
        uint64_t have = fs::file_size(part);
        throw Error("download of " + m.file + " from " + options_.endpoint + " stopped after " +
                        std::to_string(have) + " of " + std::to_string(m.size) + " bytes (" + r.transport_message +
                        "). Run the command again to resume where it stopped.",
                    ExitCode::network);
      }
    }
    out.reset();
    uint64_t got = fs::file_size(part);
    report(m, got, true);
    if (m.size > 0 && got != m.size) {
      if (got > m.size) fs::remove(part);
      throw Error("download of " + m.file + " has " + std::to_string(got) + " bytes, expected " +
                      std::to_string(m.size) + ". Run the command again to resume.",
                  ExitCode::network);
    }
    if (digest->active()) {
      std::string actual = digest->hex();
      if (actual != to_lower(m.etag)) {
        fs::remove(part);
        throw Error("checksum mismatch for " + m.file + " (expected " + m.etag + ", got " + actual +
                        "): the download is corrupt and was deleted; run the command again.",
                    ExitCode::network);
      }
    }
    fs::rename(part, blob);
  }

  void report(const FileMeta& m, uint64_t done, bool finished) const {
    if (options_.progress) options_.progress({m.file, done, m.size, finished});
  }

  // snapshots/<commit>/<file> -> ../../blobs/<etag> (relative, like huggingface_hub), or a copy
  // where the file system has no symlinks.
  static void link(const fs::path& blob, const fs::path& target) {
    fs::create_directories(target.parent_path());
    std::error_code ec;
    if (fs::is_symlink(fs::symlink_status(target))) fs::remove(target, ec);
    fs::path relative = fs::absolute(blob).lexically_relative(fs::absolute(target.parent_path()));
    fs::create_symlink(relative, target, ec);
    if (!ec) return;
    std::error_code ignored;
    if (fs::is_symlink(fs::symlink_status(target)) && fs::read_symlink(target, ignored) == relative)
      return;  // another process linked it at the same moment
    fs::copy_file(blob, target, fs::copy_options::overwrite_existing);
  }

  RepoRef ref_;
  HubOptions options_;
  fs::path repo_dir_;
  std::vector<std::string> headers_;
};

}  // namespace

// ---- public API ---------------------------------------------------------------------------

std::optional<RepoRef> parse_repo_ref(const std::string& text) {
  // The hub's rules: letters, digits, '-', '_', '.'; no "--" or ".." ; one '/' between org and name.
  static const std::regex pattern(R"(^([A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*)(@([A-Za-z0-9._/-]+))?$)");
  std::smatch m;
  if (!std::regex_match(text, m, pattern)) return std::nullopt;
  RepoRef ref;
  ref.repo_id = m[1].str();
  if (ref.repo_id.find("--") != std::string::npos || ref.repo_id.find("..") != std::string::npos) return std::nullopt;
  if (m[3].matched) {
    ref.revision = m[3].str();
    if (ref.revision.find("..") != std::string::npos) return std::nullopt;
  }
  return ref;
}

HubOptions HubOptions::from_environment() {
  HubOptions o;
  std::string endpoint = env("HF_ENDPOINT");
  if (!endpoint.empty()) o.endpoint = endpoint;
  while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();

  std::string hf_home = env("HF_HOME");
  if (hf_home.empty()) {
    std::string xdg = env("XDG_CACHE_HOME");
    hf_home = (xdg.empty() ? home_dir() + "/.cache" : xdg) + "/huggingface";
  }
  o.cache_dir = env("HF_HUB_CACHE");
  if (o.cache_dir.empty()) o.cache_dir = env("HUGGINGFACE_HUB_CACHE");  // the older name
  if (o.cache_dir.empty()) o.cache_dir = hf_home + "/hub";

  o.token = env("HF_TOKEN");
  if (o.token.empty()) o.token = env("HUGGING_FACE_HUB_TOKEN");
  if (o.token.empty()) {
    std::string token_path = env("HF_TOKEN_PATH");
    if (token_path.empty()) token_path = hf_home + "/token";  // written by `huggingface-cli login`
    if (fs::is_regular_file(token_path)) {
      o.token = read_text(token_path);
      while (!o.token.empty() && std::isspace(static_cast<unsigned char>(o.token.back()))) o.token.pop_back();
    }
  }
  o.offline = env_flag("HF_HUB_OFFLINE");
  return o;
}

std::string repo_cache_folder(const std::string& cache_dir, const std::string& repo_id) {
  std::string name = "models--";
  for (char c : repo_id) {
    if (c == '/') name += "--";
    else name += c;
  }
  return (fs::path(cache_dir) / name).string();
}

std::vector<std::string> required_files() { return {"config.json"}; }

std::vector<std::string> optional_files() {
  return {"generation_config.json", "tokenizer.json",        "tokenizer_config.json",
          "chat_template.jinja",    "chat_template.json",    "processor_config.json",
          "preprocessor_config.json"};
}

std::optional<std::string> find_cached_snapshot(const RepoRef& ref, const std::string& cache_dir) {
  fs::path repo_dir = repo_cache_folder(cache_dir, ref.repo_id);
  auto commit = cached_commit(repo_dir, ref.revision);
  if (!commit) return std::nullopt;
  fs::path snapshot = repo_dir / "snapshots" / *commit;
  if (!fs::is_directory(snapshot) || !snapshot_complete(snapshot)) return std::nullopt;
  return snapshot.string();
}

std::string download_snapshot(const RepoRef& ref, const HubOptions& options) {
  HubClient hub(ref, options);
  if (options.offline) {
    if (auto cached = find_cached_snapshot(ref, options.cache_dir)) return *cached;
    throw Error(ref.repo_id + " is not (completely) in the cache " + options.cache_dir +
                    " and HF_HUB_OFFLINE is set: unset it to download, or pass a local folder with -m",
                ExitCode::network);
  }
  fs::create_directories(hub.repo_dir());

  // config.json first: its HEAD tells which commit the revision points at; the rest is pinned to it.
  FileMeta config = *hub.metadata(ref.revision, "config.json", true);
  std::string commit = !config.commit.empty() ? config.commit : ref.revision;
  check(is_commit_hash(commit), "the hub did not say which commit " + ref.revision + " is (no X-Repo-Commit)",
        ExitCode::network);
  if (ref.revision != commit) write_text(hub.repo_dir() / "refs" / ref.revision, commit);
  hub.ensure(commit, config);

  // Fetches `file` unless the snapshot already has it; returns false when the hub has no such file.
  auto fetch = [&](const std::string& file, bool required) {
    if (fs::is_regular_file(hub.snapshot_path(commit, file))) return true;
    if (!required && hub.known_absent(commit, file)) return false;
    auto meta = hub.metadata(commit, file, required);
    if (!meta) {
      hub.mark_absent(commit, file);
      return false;
    }
    hub.ensure(commit, *meta);
    return true;
  };

  if (fetch(kWeightsIndex, false)) {
    for (const auto& shard : shards_of_index(hub.snapshot_path(commit, kWeightsIndex))) fetch(shard, true);
  } else {
    fetch(kWeightsFile, true);
  }
  for (const auto& file : optional_files()) fetch(file, false);
  return (hub.repo_dir() / "snapshots" / commit).string();
}

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool looks_like_path(const std::string& s) {
  return s.empty() || s[0] == '/' || s[0] == '.' || s[0] == '~' || ends_with(s, ".gguf") ||
         ends_with(s, ".safetensors") || ends_with(s, ".json");
}

}  // namespace

ResolvedModel resolve_model(const std::string& model, const HubOptions& options) {
  std::string path = model;
  if (path.rfind("~/", 0) == 0) path = home_dir() + path.substr(1);
  ResolvedModel out;
  if (fs::is_directory(path)) {
    check(fs::is_regular_file(fs::path(path) / "config.json"),
          path + " has no config.json: expected a Hugging Face model folder (config.json, model.safetensors, "
                 "tokenizer.json, ...)",
          ExitCode::not_found);
    out.path = path;
    return out;
  }
  if (fs::exists(path)) {
    if (ends_with(path, ".gguf")) {
      out.kind = ResolvedModel::Kind::gguf;
      out.path = path;
      return out;
    }
    std::string hint = ends_with(path, ".safetensors") || ends_with(path, ".json")
                           ? " pass the folder that holds it (with config.json and the tokenizer) instead"
                           : " expected a model folder, a .gguf file or a Hugging Face repo id such as " +
                                 std::string(kDefaultModel);
    throw Error(path + " is not a model:" + hint, ExitCode::unsupported);
  }
  auto ref = parse_repo_ref(model);
  if (!ref || looks_like_path(model))
    throw Error("no such model folder or file: " + path + " (a Hugging Face repo id looks like " +
                    std::string(kDefaultModel) + ")",
                ExitCode::not_found);
  out.repo_id = ref->repo_id;
  if (auto cached = find_cached_snapshot(*ref, options.cache_dir)) {
    out.path = *cached;
    return out;
  }
  out.path = download_snapshot(*ref, options);
  return out;
}

}  // namespace gemma4::hub
