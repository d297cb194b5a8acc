// An in-process stand-in for the Hugging Face hub (cpp-httplib on 127.0.0.1, a free port),
// serving a model folder in the hub's URL layout:
//   HEAD/GET /{org}/{name}/resolve/{revision}/{file}
//     small files: 200, ETag = git blob sha1, X-Repo-Commit
//     LFS files (*.safetensors): 302 to /cdn/{sha256} with X-Linked-Etag / X-Linked-Size
//     missing files: 404 with X-Error-Code (EntryNotFound, RevisionNotFound); unknown repo: 401 RepoNotFound
//   GET /cdn/{sha256}: the content, with Range support (httplib's)
// Knobs let a test require a token, corrupt a file, or cut a transfer short.
#pragma once
#include <httplib.h>
#include <openssl/evp.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace gemma4::test {

inline std::string hex_digest(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
  std::string hex;
  char buf[3];
  for (unsigned i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", out[i]);
    hex += buf;
  }
  return hex;
}
inline std::string sha256_hex(const std::string& data) { return hex_digest(EVP_sha256(), data); }
inline std::string git_blob_sha1(const std::string& data) {
  return hex_digest(EVP_sha1(), "blob " + std::to_string(data.size()) + std::string(1, '\0') + data);
}
inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FakeHub {
 public:
  struct File {
    std::string content;
    bool lfs = false;
    std::string etag() const { return lfs ? sha256_hex(content) : git_blob_sha1(content); }
  };

  std::string repo = "test-org/tiny-gemma4";
  std::string commit = "0123456789abcdef0123456789abcdef01234567";
  std::map<std::string, File> files;

  // Knobs.
  std::string required_token;             // non-empty: 401 unless "Authorization: Bearer <token>"
  std::set<std::string> corrupt;          // served with one byte flipped (headers stay right)
  std::atomic<int64_t> cut_next_get_after{-1};  // next content GET stops after this many bytes
  std::atomic<bool> ignore_range{false};          // answer Range requests with the whole file (200)

  // What the server saw.
  std::atomic<int> heads{0}, gets{0};
  std::atomic<uint64_t> bytes_sent{0};

  // Range headers of content requests (curl also repeats them on the redirecting request).
  std::vector<std::string> range_headers() {
    std::lock_guard<std::mutex> lock(mu_);
    return ranges_;
  }

  // Serves config.json, model.safetensors and processor_config.json of a model folder.
  explicit FakeHub(const std::string& model_dir) {
    for (const char* name : {"config.json", "processor_config.json"})
      files[name] = {slurp(model_dir + "/" + name), false};
    files["model.safetensors"] = {slurp(model_dir + "/model.safetensors"), true};
    server_.Get(R"(/([^/]+/[^/]+)/resolve/([^/]+)/(.+))",
                [this](const httplib::Request& req, httplib::Response& res) { resolve(req, res); });
    server_.Get(R"(/cdn/([0-9a-f]+))", [this](const httplib::Request& req, httplib::Response& res) { cdn(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeHub() {
    server_.stop();
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void reset_counters() {
    heads = 0;
    gets = 0;
    bytes_sent = 0;
    std::lock_guard<std::mutex> lock(mu_);
    ranges_.clear();
  }

 private:
  void count(const httplib::Request& req) {
    (req.method == "HEAD" ? heads : gets)++;
    if (req.has_header("Range") && req.path.rfind("/cdn/", 0) == 0) {  // where content is served
      std::lock_guard<std::mutex> lock(mu_);
      ranges_.push_back(req.get_header_value("Range"));
    }
  }

  void resolve(const httplib::Request& req, httplib::Response& res) {
    count(req);
    if (!required_token.empty() && req.get_header_value("Authorization") != "Bearer " + required_token) {
      res.status = 401;
      return;
    }
    std::string repo_id = req.matches[1], revision = req.matches[2], file = req.matches[3];
    auto missing = [&](const char* code) {
      res.status = 404;
      res.set_header("X-Error-Code", code);
    };
    if (repo_id != repo) {  // the real hub says 401, not 404, so as not to reveal private repos
      res.status = 401;
      res.set_header("X-Error-Code", "RepoNotFound");
      return;
    }
    if (revision != "main" && revision != commit) return missing("RevisionNotFound");
    auto it = files.find(file);
    if (it == files.end()) return missing("EntryNotFound");
    const File& f = it->second;
    res.set_header("X-Repo-Commit", commit);
    if (f.lfs) {
      // Like the real hub: the metadata rides on a redirect to the content store.
      res.status = 302;
      res.set_header("Location", "/cdn/" + f.etag());
      res.set_header("X-Linked-Etag", "\"" + f.etag() + "\"");
      res.set_header("X-Linked-Size", std::to_string(f.content.size()));
      res.set_header("ETag", "\"" + git_blob_sha1("pointer of " + file) + "\"");
      return;
    }
    res.set_header("ETag", "\"" + f.etag() + "\"");
    if (req.method == "HEAD") {
      res.set_header("Content-Length", std::to_string(f.content.size()));
      return;
    }
    serve(file, f, res);
  }

  void cdn(const httplib::Request& req, httplib::Response& res) {
    count(req);
    for (const auto& [name, f] : files)
      if (f.lfs && f.etag() == req.matches[1].str()) return serve(name, f, res);
    res.status = 404;
  }

  void serve(const std::string& name, const File& f, httplib::Response& res) {
    auto content = std::make_shared<std::string>(f.content);
    if (corrupt.count(name)) (*content)[content->size() / 2] ^= 0x5a;
    int64_t cut = cut_next_get_after.exchange(-1);
    if (cut >= 0) {
      // Announces the full length, sends `cut` bytes, then drops the connection.
      res.set_content_provider(content->size(), "application/octet-stream",
                               [this, content, cut](size_t offset, size_t, httplib::DataSink& sink) {
                                 if (offset >= static_cast<size_t>(cut)) return false;
                                 sink.write(content->data() + offset, cut - offset);
                                 bytes_sent += cut - offset;
                                 return true;
                               });
      return;
    }
    bytes_sent += content->size();  // an upper bound when a Range slices it
    if (ignore_range) {
      // httplib honours Range on any sized reply; a chunked one it sends whole (as a 200 if told).
      res.status = 200;
      res.set_chunked_content_provider("application/octet-stream",
                                       [content](size_t offset, httplib::DataSink& sink) {
                                         if (offset < content->size())
                                           sink.write(content->data() + offset, content->size() - offset);
                                         else
                                           sink.done();
                                         return true;
                                       });
      return;
    }
    res.set_content(*content, "application/octet-stream");
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> ranges_;
};

}  // namespace gemma4::test
