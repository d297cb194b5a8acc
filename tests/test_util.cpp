#include "test_util.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace gemma4::test {

int run_command(const std::string& cmd, std::string* out) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
    if (out) out->append(buf.data(), n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

namespace {

// The temporary folders this test process made; removed when it exits (a test model folder is
// ~130 MB, and every test runs as its own process). GEMMA4_KEEP_TEST_DIRS=1 keeps them.
struct TempDirs {
  std::vector<std::string> dirs;
  ~TempDirs() {
    if (std::getenv("GEMMA4_KEEP_TEST_DIRS")) return;
    std::error_code ec;
    for (const std::string& d : dirs) std::filesystem::remove_all(d, ec);
  }
};

TempDirs& temp_dirs() {
  static TempDirs dirs;
  return dirs;
}

}  // namespace

std::string temp_dir(const std::string& tag) {
  std::string tmpl = (std::filesystem::temp_directory_path() / ("gemma4-" + tag + "-XXXXXX")).string();
  char* d = mkdtemp(tmpl.data());
  if (!d) return std::string();
  temp_dirs().dirs.push_back(d);
  return std::string(d);
}

}  // namespace gemma4::test
