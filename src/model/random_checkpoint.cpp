#include "model/random_checkpoint.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "base/error.h"
#include "model/published_configs.h"
#include "model/tensor_specs.h"
#include "tensor/dtype.h"

namespace gemma4 {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// splitmix64: fast, good enough for random weights, reproducible per (seed, tensor index).
struct SplitMix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
};

int64_t numel(const TensorSpec& s) {
  int64_t n = 1;
  for (int64_t d : s.shape) n *= d;
  return n;
}

void write_json(const fs::path& path, const json& j) {
  std::ofstream f(path);
  check(static_cast<bool>(f), path.string() + ": cannot write", ExitCode::failure);
  f << j.dump(2) << "\n";
}

// Fills `out` with bf16 values for `spec`: uniform noise with standard deviation `scale`
// for random matrices (so activations stay sane), exact constants otherwise.
void fill(const TensorSpec& spec, SplitMix64& rng, uint16_t* out, int64_t n) {
  switch (spec.init) {
    case TensorInit::ones: std::fill(out, out + n, f32_to_bf16(1.f)); return;
    case TensorInit::zeros: std::fill(out, out + n, f32_to_bf16(0.f)); return;
    case TensorInit::constant: std::fill(out, out + n, f32_to_bf16(spec.scale)); return;
    case TensorInit::normal: break;
  }
  const float amplitude = spec.scale * std::sqrt(3.f) / 32768.f;  // uniform[-a, a] has std a/sqrt(3)
  int64_t i = 0;
  while (i < n) {
    uint64_t r = rng.next();
    for (int k = 0; k < 4 && i < n; ++k, ++i, r >>= 16)
      out[i] = f32_to_bf16((static_cast<float>(r & 0xffff) - 32768.f) * amplitude);
  }
}

}  // namespace

uint64_t write_random_checkpoint(const RandomCheckpointOptions& options) {
  std::vector<TensorSpec> specs = text_tensor_specs(options.config);
  for (auto& s : vision_tensor_specs(options.config)) specs.push_back(std::move(s));
  for (auto& s : audio_tensor_specs(options.config)) specs.push_back(std::move(s));

  const fs::path dir(options.out_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  check(fs::is_directory(dir), options.out_dir + ": cannot create the output folder", ExitCode::failure);

  // Header: every tensor bf16, laid out in spec order.
  json header = json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const auto& s : specs) {
    check(!header.contains(s.name), "tensor spec lists " + s.name + " twice", ExitCode::failure);
    const uint64_t bytes = static_cast<uint64_t>(numel(s)) * 2;
    header[s.name] = {{"dtype", "BF16"}, {"shape", s.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string header_text = header.dump();
  while ((8 + header_text.size()) % 8 != 0) header_text.push_back(' ');

  const fs::path final_path = dir / "model.safetensors";
  const fs::path temp_path = dir / "model.safetensors.partial";
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(temp_path.c_str(), "wb"), &std::fclose);
  check(f != nullptr, temp_path.string() + ": cannot write", ExitCode::failure);
  std::vector<char> io_buffer(8 << 20);
  std::setvbuf(f.get(), io_buffer.data(), _IOFBF, io_buffer.size());
  uint8_t len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(header_text.size() >> (8 * i));
  bool ok = std::fwrite(len, 1, 8, f.get()) == 8 &&
            std::fwrite(header_text.data(), 1, header_text.size(), f.get()) == header_text.size();

  std::vector<uint16_t> block(1 << 20);
  for (size_t t = 0; t < specs.size() && ok; ++t) {
    SplitMix64 rng{options.seed * 0x100000001b3ull + t * 0x9e3779b97f4a7c15ull + 1};
    for (int64_t done = 0, n = numel(specs[t]); done < n && ok;) {
      const int64_t m = std::min<int64_t>(n - done, static_cast<int64_t>(block.size()));
      fill(specs[t], rng, block.data(), m);
      ok = std::fwrite(block.data(), 2, m, f.get()) == static_cast<size_t>(m);
      done += m;
    }
  }
  ok = ok && std::fflush(f.get()) == 0;
  f.reset();
  if (!ok) {
    fs::remove(temp_path, ec);
    throw Error(temp_path.string() + ": write failed (disk full?)", ExitCode::failure);
  }
  fs::rename(temp_path, final_path);

  write_json(dir / "config.json", options.config);
  write_json(dir / "generation_config.json", generation_config_for(options.config));
  if (options.write_processor_config) write_json(dir / "processor_config.json", published_processor_config());

  if (!options.tokenizer_dir.empty()) {
    check(fs::is_directory(options.tokenizer_dir), options.tokenizer_dir + ": no such tokenizer folder",
          ExitCode::not_found);
    for (const auto& entry : fs::directory_iterator(options.tokenizer_dir)) {
      if (!entry.is_regular_file()) continue;
      const fs::path to = dir / entry.path().filename();
      fs::copy_file(entry.path(), to, fs::copy_options::overwrite_existing, ec);
      check(!ec, to.string() + ": cannot copy tokenizer file: " + ec.message(), ExitCode::failure);
      fs::permissions(to, fs::perms::owner_write, fs::perm_options::add, ec);
    }
  }
  return 8 + header_text.size() + offset;
}

}  // namespace gemma4
