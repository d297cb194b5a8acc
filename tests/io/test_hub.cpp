// The hub client against an in-process fake hub serving the tiny goldens model.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/error.h"
#include "io/hub.h"
#include "io/safetensors.h"
#include "test_hub_fake_server.h"
#include "test_util.h"

namespace fs = std::filesystem;
using gemma4::Error;
using gemma4::ExitCode;
using namespace gemma4::hub;

namespace gemma4::test {
namespace {

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache = temp_dir("hub-cache");
    options.endpoint = hub.endpoint();
    options.cache_dir = cache;
  }
  void TearDown() override { fs::remove_all(cache); }

  fs::path repo_dir() const { return repo_cache_folder(cache, hub.repo); }
  fs::path snapshot() const { return repo_dir() / "snapshots" / hub.commit; }
  fs::path blob(const std::string& file) const { return repo_dir() / "blobs" / hub.files.at(file).etag(); }

  // The error resolve_model throws, or fails the test when there is none.
  Error resolve_error(const std::string& model) {
    try {
      resolve_model(model, options);
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "resolve_model(" << model << ") did not throw";
    return Error("none");
  }

  FakeHub hub{tiny_dir()};
  std::string cache;
  HubOptions options;
};

TEST_F(HubTest, FullDownloadWritesTheHubCacheLayout) {
  std::vector<DownloadProgress> reports;
  options.progress = [&](const DownloadProgress& p) { reports.push_back(p); };
  ResolvedModel m = resolve_model(hub.repo, options);
  EXPECT_EQ(m.kind, ResolvedModel::Kind::folder);
  EXPECT_EQ(m.repo_id, hub.repo);
  EXPECT_EQ(fs::path(m.path), snapshot());

  // refs/main -> commit; snapshot entries are relative symlinks to blobs named by ETag.
  EXPECT_EQ(slurp(repo_dir() / "refs" / "main"), hub.commit);
  for (const char* file : {"config.json", "model.safetensors", "processor_config.json"}) {
    fs::path link = snapshot() / file;
    ASSERT_TRUE(fs::is_symlink(link)) << file;
    EXPECT_EQ(fs::read_symlink(link), fs::path("../..") / "blobs" / hub.files.at(file).etag()) << file;
    EXPECT_EQ(slurp(link), slurp(tiny_dir() + "/" + file)) << file;
  }
  // Optional files the hub lacks are remembered, as huggingface_hub does, and not fetched again.
  EXPECT_TRUE(fs::exists(repo_dir() / ".no_exist" / hub.commit / "tokenizer.json"));
  EXPECT_FALSE(fs::exists(snapshot() / "goldens_text.safetensors"));  // only the needed files

  // The result loads like any model folder.
  auto store = TensorStore::open(m.path);
  EXPECT_FALSE(store.tensors().empty());

  ASSERT_FALSE(reports.empty());
  const auto& last_weights = [&] {
    for (auto it = reports.rbegin(); it != reports.rend(); ++it)
      if (it->file == "model.safetensors") return *it;
    return reports.front();
  }();
  EXPECT_TRUE(last_weights.finished);
  EXPECT_EQ(last_weights.done, hub.files.at("model.safetensors").content.size());
  EXPECT_EQ(last_weights.total, last_weights.done);
}

TEST_F(HubTest, CachedModelIsUsedWithoutAnyRequest) {
  resolve_model(hub.repo, options);
  hub.reset_counters();
  ResolvedModel again = resolve_model(hub.repo, options);
  EXPECT_EQ(fs::path(again.path), snapshot());
  EXPECT_EQ(hub.heads.load(), 0);
  EXPECT_EQ(hub.gets.load(), 0);

  // `pull` asks which commit main is (one HEAD) but downloads nothing it already has.
  EXPECT_EQ(fs::path(download_snapshot({hub.repo, "main"}, options)), snapshot());
  EXPECT_EQ(hub.heads.load(), 1);
  EXPECT_EQ(hub.gets.load(), 0);
}

TEST_F(HubTest, ResumesAPartialDownloadWithARangeRequest) {
  const std::string& weights = hub.files.at("model.safetensors").content;
  size_t half = weights.size() / 2;
  fs::create_directories(blob("model.safetensors").parent_path());
  std::ofstream(blob("model.safetensors").string() + ".incomplete", std::ios::binary).write(weights.data(), half);

  resolve_model(hub.repo, options);
  auto ranges = hub.range_headers();
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0], "bytes=" + std::to_string(half) + "-");
  EXPECT_EQ(slurp(snapshot() / "model.safetensors"), weights);
  EXPECT_FALSE(fs::exists(blob("model.safetensors").string() + ".incomplete"));
}

TEST_F(HubTest, ServerIgnoringRangeRestartsTheFile) {
  const std::string& weights = hub.files.at("model.safetensors").content;
  fs::create_directories(blob("model.safetensors").parent_path());
  std::ofstream(blob("model.safetensors").string() + ".incomplete", std::ios::binary).write(weights.data(), 1000);
  hub.ignore_range = true;
  resolve_model(hub.repo, options);
  ASSERT_EQ(hub.range_headers().size(), 1u);  // it was asked, and answered with the whole file
  EXPECT_EQ(slurp(snapshot() / "model.safetensors"), weights);
}

TEST_F(HubTest, InterruptedDownloadResumesOnTheNextRun) {
  const std::string& weights = hub.files.at("model.safetensors").content;
  int64_t cut = static_cast<int64_t>(weights.size() / 3);
  // Arms the cut just before the weights' transfer starts (config.json came first, whole).
  bool armed = false;
  options.progress = [&](const DownloadProgress& p) {
    if (p.file == "model.safetensors" && !armed) hub.cut_next_get_after = cut;
    if (p.file == "model.safetensors") armed = true;
  };
  Error e = resolve_error(hub.repo);
  EXPECT_EQ(e.code(), ExitCode::network);
  EXPECT_NE(std::string(e.what()).find("again to resume"), std::string::npos) << e.what();
  fs::path part = blob("model.safetensors").string() + ".incomplete";
  ASSERT_TRUE(fs::exists(part));
  EXPECT_EQ(fs::file_size(part), static_cast<uintmax_t>(cut));

  options.progress = nullptr;
  hub.reset_counters();
  resolve_model(hub.repo, options);
  auto ranges = hub.range_headers();
  ASSERT_EQ(ranges.size(), 1u);
  EXPECT_EQ(ranges[0], "bytes=" + std::to_string(cut) + "-");
  EXPECT_EQ(slurp(snapshot() / "model.safetensors"), weights);
}

TEST_F(HubTest, ConcurrentDownloadsOfOneModelDoNotCollide) {
  std::string a, b;
  std::thread t1([&] { a = download_snapshot({hub.repo, "main"}, options); });
  std::thread t2([&] { b = download_snapshot({hub.repo, "main"}, options); });
  t1.join();
  t2.join();
  EXPECT_EQ(a, b);
  EXPECT_EQ(slurp(snapshot() / "model.safetensors"), hub.files.at("model.safetensors").content);
  EXPECT_TRUE(fs::exists(fs::path(cache) / ".locks" / repo_dir().filename()));  // huggingface_hub's lock place
}

TEST_F(HubTest, CorruptWeightsAreDetectedBySha256AndDeleted) {
  hub.corrupt.insert("model.safetensors");
  Error e = resolve_error(hub.repo);
  EXPECT_EQ(e.code(), ExitCode::network);
  EXPECT_NE(std::string(e.what()).find("checksum mismatch for model.safetensors"), std::string::npos) << e.what();
  EXPECT_FALSE(fs::exists(blob("model.safetensors")));
  EXPECT_FALSE(fs::exists(blob("model.safetensors").string() + ".incomplete"));
  EXPECT_FALSE(fs::exists(snapshot() / "model.safetensors"));

  hub.corrupt.clear();  // a clean retry succeeds
  EXPECT_EQ(slurp(resolve_model(hub.repo, options).path + "/model.safetensors"),
            hub.files.at("model.safetensors").content);
}

TEST_F(HubTest, CorruptSmallFileIsDetectedByGitBlobSha1) {
  hub.corrupt.insert("config.json");
  Error e = resolve_error(hub.repo);
  EXPECT_NE(std::string(e.what()).find("checksum mismatch for config.json"), std::string::npos) << e.what();
}

TEST_F(HubTest, ServerDownGivesClearInstructions) {
  int port;
  {
    FakeHub gone(tiny_dir());  // take a free port, then close it
    port = std::stoi(gone.endpoint().substr(gone.endpoint().rfind(':') + 1));
  }
  options.endpoint = "http://127.0.0.1:" + std::to_string(port);
  Error e = resolve_error(hub.repo);
  std::string msg = e.what();
  EXPECT_EQ(e.code(), ExitCode::network);
  EXPECT_NE(msg.find("cannot reach " + options.endpoint), std::string::npos) << msg;
  EXPECT_NE(msg.find("config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("-m FOLDER"), std::string::npos) << msg;
  EXPECT_NE(msg.find(repo_dir().string()), std::string::npos) << msg;
}

TEST_F(HubTest, OfflineModeNeverTouchesTheNetwork) {
  options.offline = true;
  Error e = resolve_error(hub.repo);
  EXPECT_EQ(e.code(), ExitCode::network);
  EXPECT_NE(std::string(e.what()).find("HF_HUB_OFFLINE"), std::string::npos);
  EXPECT_EQ(hub.heads.load() + hub.gets.load(), 0);

  // Once cached, even `pull` is content with the cache.
  options.offline = false;
  resolve_model(hub.repo, options);
  options.offline = true;
  hub.reset_counters();
  EXPECT_EQ(fs::path(download_snapshot({hub.repo, "main"}, options)), snapshot());
  EXPECT_EQ(hub.heads.load() + hub.gets.load(), 0);
}

TEST_F(HubTest, GatedRepoNeedsTheToken) {
  hub.required_token = "hf_secret";
  Error e = resolve_error(hub.repo);
  EXPECT_EQ(e.code(), ExitCode::network);
  EXPECT_NE(std::string(e.what()).find("HF_TOKEN"), std::string::npos) << e.what();
  options.token = "hf_secret";
  EXPECT_EQ(fs::path(resolve_model(hub.repo, options).path), snapshot());
}

TEST_F(HubTest, UnknownRepoAndRevisionAreNotFound) {
  Error repo = resolve_error("test-org/no-such-model");
  EXPECT_EQ(repo.code(), ExitCode::not_found);
  EXPECT_NE(std::string(repo.what()).find("no repository test-org/no-such-model"), std::string::npos);
  Error rev = resolve_error(hub.repo + "@no-such-branch");
  EXPECT_EQ(rev.code(), ExitCode::not_found);
  EXPECT_NE(std::string(rev.what()).find("no-such-branch"), std::string::npos);
}

TEST_F(HubTest, RevisionByCommitHash) {
  ResolvedModel m = resolve_model(hub.repo + "@" + hub.commit, options);
  EXPECT_EQ(fs::path(m.path), snapshot());
  EXPECT_FALSE(fs::exists(repo_dir() / "refs" / hub.commit));  // a commit needs no ref
}

// A cache as transformers / huggingface-cli leave it, built by hand; the network is not used.
TEST_F(HubTest, ExistingTransformersCacheIsUsedAsIs) {
  const std::string commit = "fedcba9876543210fedcba9876543210fedcba98";
  fs::path repo = repo_cache_folder(cache, "google/gemma-4-E2B-it");
  fs::create_directories(repo / "blobs");
  fs::create_directories(repo / "snapshots" / commit);
  fs::create_directories(repo / "refs");
  std::ofstream(repo / "refs" / "main") << commit;
  for (const char* file : {"config.json", "model.safetensors"}) {
    std::string content = slurp(tiny_dir() + "/" + file);
    std::string etag = sha256_hex(content);
    fs::copy_file(tiny_dir() + "/" + file, repo / "blobs" / etag);
    fs::create_symlink(fs::path("../../blobs") / etag, repo / "snapshots" / commit / file);
  }
  options.endpoint = "http://127.0.0.1:1";  // nothing listens there
  ResolvedModel m = resolve_model("google/gemma-4-E2B-it", options);
  EXPECT_EQ(fs::path(m.path), repo / "snapshots" / commit);
  EXPECT_FALSE(TensorStore::open(m.path).tensors().empty());
  EXPECT_EQ(find_cached_snapshot({"google/gemma-4-E2B-it", commit}, cache), m.path);

  // A snapshot without weights (say, only AutoConfig ran) is not a usable model.
  fs::remove(repo / "snapshots" / commit / "model.safetensors");
  EXPECT_FALSE(find_cached_snapshot({"google/gemma-4-E2B-it", "main"}, cache).has_value());
  EXPECT_EQ(resolve_error("google/gemma-4-E2B-it").code(), ExitCode::network);
}

TEST(HubModelArgument, LocalFoldersAndFiles) {
  HubOptions options;
  options.endpoint = "http://127.0.0.1:1";
  options.cache_dir = temp_dir("hub-empty");
  EXPECT_EQ(resolve_model(tiny_dir(), options).path, tiny_dir());

  std::string dir = temp_dir("hub-local");
  std::ofstream(dir + "/model.gguf") << "GGUF";
  ResolvedModel gguf = resolve_model(dir + "/model.gguf", options);
  EXPECT_EQ(gguf.kind, ResolvedModel::Kind::gguf);

  auto code_of = [&](const std::string& model) {
    try {
      resolve_model(model, options);
    } catch (const Error& e) {
      return e.code();
    }
    return ExitCode::ok;
  };
  EXPECT_EQ(code_of(dir), ExitCode::not_found);                    // a folder without config.json
  EXPECT_EQ(code_of(dir + "/missing.gguf"), ExitCode::not_found);  // no such file
  EXPECT_EQ(code_of("./no/such/folder"), ExitCode::not_found);
  EXPECT_EQ(code_of(tiny_dir() + "/model.safetensors"), ExitCode::unsupported);  // pass the folder
  EXPECT_EQ(code_of(tiny_dir() + "/chirp.wav"), ExitCode::unsupported);
  fs::remove_all(dir);
  fs::remove_all(options.cache_dir);
}

TEST(HubModelArgument, ParsesRepoIds) {
  auto ref = parse_repo_ref("google/gemma-4-E2B-it");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->repo_id, "google/gemma-4-E2B-it");
  EXPECT_EQ(ref->revision, "main");
  ref = parse_repo_ref("google/gemma-4-E4B-it@refs/pr/3");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->repo_id, "google/gemma-4-E4B-it");
  EXPECT_EQ(ref->revision, "refs/pr/3");
  for (const char* bad : {"gemma", "a/b/c", "/abs/path", "org/na--me", "org/../x", "org/name@", "org/name@../x", ""})
    EXPECT_FALSE(parse_repo_ref(bad)) << bad;
  EXPECT_EQ(repo_cache_folder("/c", "google/gemma-4-E2B-it"), "/c/models--google--gemma-4-E2B-it");
}

TEST(HubModelArgument, OptionsComeFromTheEnvironment) {
  std::string home = temp_dir("hub-env");
  setenv("HF_HOME", home.c_str(), 1);
  unsetenv("HF_HUB_CACHE");
  unsetenv("HUGGINGFACE_HUB_CACHE");
  unsetenv("HF_TOKEN");
  unsetenv("HUGGING_FACE_HUB_TOKEN");
  unsetenv("HF_TOKEN_PATH");
  setenv("HF_ENDPOINT", "http://mirror.example/", 1);
  setenv("HF_HUB_OFFLINE", "1", 1);
  std::ofstream(home + "/token") << "hf_from_file\n";
  HubOptions o = HubOptions::from_environment();
  EXPECT_EQ(o.cache_dir, home + "/hub");
  EXPECT_EQ(o.endpoint, "http://mirror.example");
  EXPECT_EQ(o.token, "hf_from_file");
  EXPECT_TRUE(o.offline);

  setenv("HF_HUB_CACHE", "/elsewhere", 1);
  setenv("HF_TOKEN", "hf_env", 1);
  setenv("HF_HUB_OFFLINE", "0", 1);
  o = HubOptions::from_environment();
  EXPECT_EQ(o.cache_dir, "/elsewhere");
  EXPECT_EQ(o.token, "hf_env");
  EXPECT_FALSE(o.offline);

  for (const char* v : {"HF_HOME", "HF_HUB_CACHE", "HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE"}) unsetenv(v);
  fs::remove_all(home);
}

// The `gemma4 pull` command end to end, talking to the fake hub.
TEST_F(HubTest, PullCommandDownloadsAndPrintsTheFolder) {
  std::string env = "HF_ENDPOINT=" + hub.endpoint() + " HF_HUB_CACHE=" + cache + " HF_TOKEN= HF_HUB_OFFLINE= ";
  std::string out;
  EXPECT_EQ(run_command(env + gemma4_binary() + " pull " + hub.repo + " --quiet 2>&1", &out), 0) << out;
  EXPECT_EQ(out, snapshot().string() + "\n");
  EXPECT_TRUE(fs::is_regular_file(snapshot() / "model.safetensors"));

  std::string down = "HF_ENDPOINT=http://127.0.0.1:1 HF_HUB_CACHE=" + cache + " ";
  out.clear();
  EXPECT_EQ(run_command(down + gemma4_binary() + " pull " + hub.repo + " -q 2>&1", &out), 7) << out;
  EXPECT_NE(out.find("cannot reach"), std::string::npos) << out;
  EXPECT_EQ(run_command(gemma4_binary() + " pull not/a/repo 2>/dev/null"), 2);
}

}  // namespace
}  // namespace gemma4::test
