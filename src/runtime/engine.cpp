#include "runtime/engine.h"

#include "model/gguf_loader.h"
#include "model/mmproj_loader.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <sstream>

#include "base/error.h"
#include "base/mapped_file.h"

namespace gemma4 {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// FNV-1a over bytes: a fingerprint of encoded media (equal soft tokens, equal fingerprint).
uint64_t fnv1a(const void* data, size_t size, uint64_t h = 1469598103934665603ull) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// Cache keys of soft-token positions live in the upper half of the key space; token ids
// (< 2^31) can never collide with them.
constexpr uint64_t kSoftKeyBit = uint64_t{1} << 63;
uint64_t soft_token_key(uint64_t fingerprint, int64_t offset) {
  return kSoftKeyBit | ((fingerprint + static_cast<uint64_t>(offset) * 0x9e3779b97f4a7c15ull) >> 1);
}

std::string media_cache_key(const MediaSource& m) {
  std::string key = std::string(media_kind_name(m.kind)) + ":" + std::to_string(m.image_tokens) + ":";
  if (!m.bytes.empty()) return key + "bytes:" + std::to_string(fnv1a(m.bytes.data(), m.bytes.size()));
  std::error_code ec;
  const auto mtime = std::filesystem::last_write_time(m.path, ec);
  return key + "file:" + m.path + ":" + std::to_string(ec ? 0 : mtime.time_since_epoch().count());
}

// The path of a media source given as a file path or a file:// URL. Remote URLs and data URLs
// arrive as bytes (the server decodes them); here they are refused with a clear message.
std::string local_media_path(const MediaPart& part) {
  const std::string& s = part.source;
  check(!s.empty(), std::string("a ") + media_kind_name(part.kind) + " part has no file", ExitCode::bad_input);
  if (s.rfind("file://", 0) == 0) return s.substr(7);
  check(s.rfind("http://", 0) != 0 && s.rfind("https://", 0) != 0 && s.rfind("data:", 0) != 0,
        std::string(media_kind_name(part.kind)) + " '" + s.substr(0, 60) +
            "': only local files are read here; download it first and pass the file",
        ExitCode::unsupported);
  return s;
}

void check_media_file(const MediaSource& m) {
  if (!m.bytes.empty()) return;
  check(std::filesystem::is_regular_file(m.path),
        std::string(media_kind_name(m.kind)) + " file not found: " + m.path, ExitCode::not_found);
}

int64_t read_context_limit(const ModelConfig& config) {
  const nlohmann::json& raw = config.raw;
  for (const nlohmann::json* block : {raw.contains("text_config") ? &raw["text_config"] : &raw, &raw}) {
    auto it = block->find("max_position_embeddings");
    if (it != block->end() && it->is_number_integer()) return it->get<int64_t>();
  }
  return 0;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// MediaCache

std::shared_ptr<const EncodedMedia> MediaCache::find(const std::string& key) const {
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

void MediaCache::put(const std::string& key, std::shared_ptr<const EncodedMedia> media) {
  items_[key] = std::move(media);
}

// ---------------------------------------------------------------------------------------------
// Engine

Engine::~Engine() = default;

std::shared_ptr<Engine> Engine::load(const std::string& model_dir, const EngineOptions& options) {
  const auto start = Clock::now();
  check(std::filesystem::exists(model_dir), "model not found: " + model_dir, ExitCode::not_found);
  if (is_gguf_file(model_dir)) return load_gguf(model_dir, options);
  check(options.mmproj.empty(),
        "--mmproj goes with a .gguf model; the model folder " + model_dir + " holds its own vision and audio towers",
        ExitCode::usage);
  check(std::filesystem::is_directory(model_dir),
        model_dir + " is not a model folder (expected a folder with config.json and *.safetensors)",
        ExitCode::unsupported);
  check(file_exists(model_dir + "/config.json"),
        "no config.json in " + model_dir + ": not a Hugging Face model folder (download google/gemma-4-E2B-it, "
        "e.g. `gemma4 pull google/gemma-4-E2B-it`)",
        ExitCode::not_found);
  std::shared_ptr<Engine> engine(new Engine());
  engine->model_dir_ = model_dir;
  engine->options_ = options;
  engine->decoder_ = TextDecoder::load(model_dir, options.load);  // refuses what is not Gemma 4
  check(file_exists(model_dir + "/tokenizer.json"),
        "no tokenizer.json in " + model_dir + ": copy the tokenizer files of google/gemma-4-E2B-it into it",
        ExitCode::not_found);
  engine->tokenizer_ = Tokenizer::load(model_dir);
  engine->generation_ = GenerationConfig::load(model_dir, &engine->tokenizer_);
  engine->media_tokens_ = MediaTokens::from_tokenizer(engine->tokenizer_);
  engine->context_limit_ = read_context_limit(engine->decoder_->model_config());
  check(engine->tokenizer_.vocab_size() <= engine->decoder_->vocab_size(),
        "the tokenizer of " + model_dir + " has " + std::to_string(engine->tokenizer_.vocab_size()) +
            " tokens but the model only " + std::to_string(engine->decoder_->vocab_size()) +
            ": they do not belong together",
        ExitCode::bad_input);
  engine->load_seconds_ = seconds_since(start);
  return engine;
}

// A llama.cpp `gemma4` GGUF: weights, config and tokenizer all come from the one file (stop ids:
// the vocabulary's eos and end-of-turn tokens; sampling: Gemma 4's published defaults).
// Images and audio need the towers, which a text GGUF does not hold: they come from the mmproj
// file (options.mmproj).
std::shared_ptr<Engine> Engine::load_gguf(const std::string& path, const EngineOptions& options) {
  const auto start = Clock::now();
  std::shared_ptr<Engine> engine(new Engine());
  engine->model_dir_ = path;
  engine->options_ = options;
  engine->decoder_ = TextDecoder::load(path, options.load);
  engine->tokenizer_ = gguf_tokenizer(open_gguf_text_model(path).vocab);
  engine->generation_ = GenerationConfig::from_json("", "", &engine->tokenizer_);
  engine->media_tokens_ = MediaTokens::from_tokenizer(engine->tokenizer_);
  engine->context_limit_ = read_context_limit(engine->decoder_->model_config());
  engine->is_gguf_ = true;
  if (!options.mmproj.empty())
    engine->mmproj_ = std::make_shared<const MmprojModel>(open_mmproj(options.mmproj, engine->decoder_->model_config()));
  engine->load_seconds_ = seconds_since(start);
  return engine;
}

SamplingOptions Engine::default_sampling() const {
  SamplingOptions s;
  s.greedy = !generation_.do_sample || generation_.temperature <= 0;
  s.temperature = generation_.temperature;
  s.top_k = generation_.top_k;
  s.top_p = generation_.top_p;
  return s;
}

std::shared_ptr<const EncodedMedia> Engine::encode(const MediaSource& m) const {
  check_media_file(m);
  const auto start = Clock::now();
  auto out = std::make_shared<EncodedMedia>();
  out->kind = m.kind;
  if (m.kind == MediaKind::image) {
    out->blocks = encode_image(m);
  } else if (m.kind == MediaKind::audio) {
    out->blocks = encode_audio(m);
  } else {
    throw Error("video input is not supported", ExitCode::unsupported);
  }
  uint64_t h = static_cast<uint64_t>(m.kind) + 1;
  for (const auto& block : out->blocks) h = fnv1a(block.data(), block.size() * sizeof(float), h);
  out->fingerprint = h;
  out->seconds = seconds_since(start);
  return out;
}

Prompt Engine::build_prompt(const ChatRequest& request, std::vector<MediaSource> media, MediaCache* cache) const {
  Prompt prompt;
  const RenderedPrompt rendered = render_chat(request, tokenizer_.config_token("bos_token", "<bos>"));
  prompt.text = rendered.text;
  const std::string& t = rendered.text;
  prompt.starts_in_thinking = t.size() >= 18 && t.compare(t.size() - 18, 18, "<|channel>thought\n") == 0;
  if (media.empty()) {
    for (const MediaPart& part : rendered.media) {
      MediaSource m;
      m.kind = part.kind;
      m.path = local_media_path(part);
      media.push_back(std::move(m));
    }
  }
  check(media.size() == rendered.media.size(),
        "the request has " + std::to_string(rendered.media.size()) + " media parts but " +
            std::to_string(media.size()) + " media items were given",
        ExitCode::bad_input);

  // Encode every media item (or take it from the cache).
  for (size_t i = 0; i < media.size(); ++i) {
    check(media[i].kind == rendered.media[i].kind, "media item " + std::to_string(i) + " has the wrong kind",
          ExitCode::bad_input);
    const std::string key = media_cache_key(media[i]);
    std::shared_ptr<const EncodedMedia> encoded = cache ? cache->find(key) : nullptr;
    if (!encoded) {
      encoded = encode(media[i]);
      prompt.media_seconds += encoded->seconds;
      if (cache) cache->put(key, encoded);
    }
    prompt.media.push_back(std::move(encoded));
  }

  // Token ids, each audio placeholder repeated once per block, then widened to its soft tokens.
  std::vector<int32_t> ids;
  std::vector<int64_t> counts;
  std::vector<std::pair<size_t, size_t>> block_of_run;  // (media item, block)
  {
    const std::vector<int32_t> raw = tokenizer_.encode(rendered.text);
    size_t item = 0;
    for (int32_t id : raw) {
      const bool placeholder = id == media_tokens_.image || id == media_tokens_.audio;
      if (!placeholder || item >= prompt.media.size()) {
        ids.push_back(id);
        continue;
      }
      const EncodedMedia& m = *prompt.media[item];
      for (size_t b = 0; b < m.blocks.size(); ++b) {
        ids.push_back(id);
        counts.push_back(static_cast<int64_t>(m.blocks[b].size()) / decoder_->config().hidden_size);
        block_of_run.emplace_back(item, b);
      }
      ++item;
    }
  }
  const ExpandedPrompt expanded = expand_media(ids, counts, media_tokens_);
  prompt.ids.assign(expanded.ids.begin(), expanded.ids.end());
  prompt.keys.assign(prompt.ids.begin(), prompt.ids.end());
  const int64_t hidden = decoder_->config().hidden_size;
  for (size_t r = 0; r < expanded.runs.size(); ++r) {
    const auto [item, block] = block_of_run[r];
    const EncodedMedia& m = *prompt.media[item];
    const std::vector<float>& rows = m.blocks[block];
    for (int64_t j = 0; j < expanded.runs[r].count; ++j) {
      const int64_t pos = expanded.runs[r].begin + j;
      prompt.soft_tokens.push_back({pos, rows.data() + j * hidden});
      prompt.keys[pos] = soft_token_key(m.fingerprint + block, j);
    }
  }
  return prompt;
}

uint64_t Engine::kv_cache_bytes(int64_t tokens) const {
  const TextConfig& c = decoder_->config();
  const uint64_t value_bytes = kv_value_bytes(decoder_->kv_precision());
  uint64_t bytes = 0;
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    if (c.is_kv_shared(layer)) continue;
    const uint64_t row = 2ull * c.num_kv_heads * c.head_dim_of(layer) * value_bytes;  // K and V
    const bool sliding = c.layer_types[layer] == LayerType::sliding;
    const int64_t rows = sliding ? std::min<int64_t>(tokens, c.sliding_window + 64) : tokens;
    bytes += row * static_cast<uint64_t>(rows);
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Conversation

nlohmann::json ReplyStats::to_json() const {
  auto rate = [](int64_t n, double s) { return s > 0 ? n / s : 0.0; };
  return {{"prompt_tokens", prompt_tokens},
          {"reused_tokens", reused_tokens},
          {"prefilled_tokens", prefilled_tokens},
          {"generated_tokens", generated_tokens},
          {"media_seconds", media_seconds},
          {"prefill_seconds", prefill_seconds},
          {"prompt_tokens_per_second", rate(prefilled_tokens, prefill_seconds)},
          {"first_token_seconds", first_token_seconds},
          {"decode_seconds", decode_seconds},
          {"generation_tokens_per_second", rate(generated_tokens > 1 ? generated_tokens - 1 : 0, decode_seconds)},
          {"total_seconds", total_seconds}};
}

uint64_t available_memory_bytes() {
  if (const char* limit = std::getenv("GEMMA4_MAX_MEMORY"); limit && *limit) return std::strtoull(limit, nullptr, 10);
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::istringstream in(line.substr(13));
    uint64_t kb = 0;
    in >> kb;
    return kb * 1024;
  }
  return 0;
}

Conversation::Conversation(std::shared_ptr<const Engine> engine)
    : engine_(std::move(engine)), session_(engine_->decoder()) {}

void Conversation::reset() {
  session_ = Session(engine_->decoder());
  cached_keys_.clear();
}

void Conversation::check_fits(int64_t prompt_tokens, int64_t max_tokens) const {
  const int64_t limit = engine_->context_limit();
  if (limit > 0)
    check(prompt_tokens < limit,
          "the prompt has " + std::to_string(prompt_tokens) + " tokens but the model reads at most " +
              std::to_string(limit) + ": shorten it (fewer or smaller media, /reset in chat)",
          ExitCode::bad_input);
  const int64_t tokens = prompt_tokens + max_tokens;
  const uint64_t need = engine_->kv_cache_bytes(tokens);
  const uint64_t held = engine_->kv_cache_bytes(session_.length());
  const uint64_t available = available_memory_bytes();
  if (available > 0 && need > held + available) {
    char msg[400];
    std::snprintf(msg, sizeof msg,
                  "out of memory for the context asked: %lld tokens (prompt %lld + up to %lld new) need %.2f GB of "
                  "KV cache, but only %.2f GB of memory is available; lower --max-tokens or shorten the prompt",
                  static_cast<long long>(tokens), static_cast<long long>(prompt_tokens),
                  static_cast<long long>(max_tokens), need / 1e9, (held + available) / 1e9);
    throw Error(msg, ExitCode::out_of_memory);
  }
}

int64_t Conversation::reuse_prefix(const Prompt& prompt) {
  int64_t common = 0;
  const int64_t limit = std::min<int64_t>(cached_keys_.size(), prompt.keys.size());
  while (common < limit && cached_keys_[common] == prompt.keys[common]) ++common;
  // At least one prompt token must be computed to get the logits of the next token.
  if (common == static_cast<int64_t>(prompt.keys.size())) --common;
  if (common <= 0 || !session_.rewind(common)) {
    reset();  // nothing shared, or a sliding layer already dropped rows the prefix needs
    return 0;
  }
  cached_keys_.resize(common);
  return common;
}

Reply Conversation::reply(const Prompt& prompt, const ReplyOptions& options) {
  const auto start = Clock::now();
  check(!prompt.ids.empty(), "empty prompt", ExitCode::bad_input);
  int64_t max_tokens = options.max_tokens;
  if (engine_->context_limit() > 0)
    max_tokens = std::min<int64_t>(max_tokens, engine_->context_limit() - static_cast<int64_t>(prompt.ids.size()));
  check_fits(static_cast<int64_t>(prompt.ids.size()), std::max<int64_t>(max_tokens, 0));

  Reply reply;
  ReplyStats& stats = reply.stats;
  stats.prompt_tokens = static_cast<int64_t>(prompt.ids.size());
  stats.media_seconds = prompt.media_seconds;

  // Prefill what the cache does not hold yet. A failure leaves the cache unusable: reset it.
  const int64_t reused = reuse_prefix(prompt);
  stats.reused_tokens = reused;
  stats.prefilled_tokens = stats.prompt_tokens - reused;
  std::vector<SoftToken> soft;
  for (const SoftToken& s : prompt.soft_tokens)
    if (s.index >= reused) soft.push_back({s.index - reused, s.row});
  const auto prefill_start = Clock::now();
  try {
    session_.prefill(std::span<const int64_t>(prompt.ids).subspan(reused), std::move(soft));
  } catch (...) {
    reset();
    throw;
  }
  cached_keys_ = prompt.keys;
  stats.prefill_seconds = seconds_since(prefill_start);

  // Decode loop: sample, stream through the parser, feed back, until a stop id or a limit.
  const GenerationConfig& gen = engine_->generation_config();
  TokenResponseParser parser(engine_->tokenizer(), prompt.starts_in_thinking);
  auto emit = [&](const std::vector<ResponseEvent>& events) {
    if (options.on_event)
      for (const auto& e : events) options.on_event(e);
  };
  Sampler sampler(options.sampling);
  const int64_t vocab = engine_->decoder()->vocab_size();
  const int32_t tokenizer_vocab = engine_->tokenizer().vocab_size();
  reply.finish = max_tokens <= 0 ? FinishReason::length : FinishReason::stop;
  Clock::time_point first_token_time = Clock::now();
  for (int64_t i = 0; i < max_tokens; ++i) {
    if (options.cancelled && options.cancelled()) {
      reply.finish = FinishReason::cancelled;
      break;
    }
    const int64_t token = sampler.sample(session_.last_logits().data(), vocab);
    if (i == 0) {
      first_token_time = Clock::now();
      stats.first_token_seconds = std::chrono::duration<double>(first_token_time - start).count() + prompt.media_seconds;
    }
    reply.ids.push_back(token);
    if (gen.is_stop(static_cast<int32_t>(token))) break;
    // Ids the model has but the tokenizer lacks (padding rows of the embedding) print nothing.
    if (token < tokenizer_vocab) emit(parser.push(static_cast<int32_t>(token)));
    if (i + 1 == max_tokens) {
      reply.finish = FinishReason::length;
      break;
    }
    try {
      session_.decode(token);
    } catch (...) {
      reset();
      throw;
    }
    cached_keys_.push_back(static_cast<uint64_t>(token));
  }
  emit(parser.finish());
  reply.response = parser.result();
  stats.generated_tokens = static_cast<int64_t>(reply.ids.size());
  if (!reply.ids.empty()) stats.decode_seconds = seconds_since(first_token_time);
  stats.total_seconds = seconds_since(start) + prompt.media_seconds;
  return reply;
}

}  // namespace gemma4
