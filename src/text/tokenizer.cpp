#include "text/tokenizer.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <queue>

#include "base/error.h"
#include "base/mapped_file.h"

namespace gemma4 {

using json = nlohmann::json;

namespace {

constexpr uint8_t kSpecial = 1;
constexpr uint8_t kByte = 2;
constexpr uint32_t kSpaceMark = 0x2581;  // '▁', what the normalizer puts in place of ' '

// "<0x4A>" -> 0x4A, or -1 when the piece is not a byte-fallback token.
int parse_byte_piece(const std::string& p) {
  if (p.size() != 6 || p.compare(0, 3, "<0x") != 0 || p[5] != '>') return -1;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  int hi = hex(p[3]), lo = hex(p[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

json parse_json_text(std::string_view text, const std::string& what) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    throw Error(what + " is not valid JSON: " + e.what(), ExitCode::bad_input);
  }
}

}  // namespace

void append_utf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t utf8_sequence(std::string_view s, size_t pos, uint32_t* cp) {
  const auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  uint8_t c = b(pos);
  if (c < 0x80) {
    *cp = c;
    return 1;
  }
  size_t len;
  uint32_t v, min;
  if ((c & 0xE0) == 0xC0) {
    len = 2, v = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, v = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, v = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (pos + len > s.size()) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((b(pos + i) & 0xC0) != 0x80) return 0;
    v = (v << 6) | (b(pos + i) & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *cp = v;
  return len;
}

Tokenizer Tokenizer::load(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::path folder = dir, file = dir;
  if (fs::is_directory(folder)) {
    file = folder / "tokenizer.json";
  } else {
    folder = fs::path(dir).parent_path();
  }
  if (!file_exists(file.string()))
    throw Error("no tokenizer.json found at " + file.string() +
                    " (pass a model folder that holds tokenizer.json and tokenizer_config.json)",
                ExitCode::not_found);
  MappedFile tok(file.string());
  std::string config;
  fs::path config_path = folder / "tokenizer_config.json";
  if (file_exists(config_path.string())) config = read_file(config_path.string());
  return from_json(std::string_view(reinterpret_cast<const char*>(tok.data()), tok.size()), config);
}

namespace {

// Streams tokenizer.json through nlohmann's SAX interface and keeps only what the tokenizer
// needs (model.type/unk_token/vocab/merges, added_tokens): no DOM for 14 MB of JSON, so loading
// stays well under a second.
class TokenizerJsonReader : public nlohmann::json_sax<json> {
 public:
  struct Added {
    std::string content;
    int64_t id = -1;
    bool special = false;
  };
  std::string model_type = "BPE", unk_token, error;
  std::vector<std::pair<std::string, int64_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<Added> added;
  bool saw_model = false, saw_vocab = false, saw_merges = false;

  bool null() override { return scalar(); }
  bool boolean(bool v) override {
    if (top() == kAddedEntry && key_ == "special") added.back().special = v;
    return scalar();
  }
  bool number_integer(number_integer_t v) override { return integer(v); }
  bool number_unsigned(number_unsigned_t v) override {
    return integer(v > static_cast<uint64_t>(INT64_MAX) ? -1 : static_cast<int64_t>(v));
  }
  bool number_float(number_float_t, const string_t&) override {
    if (top() == kVocab) return fail("vocab entry \"" + key_ + "\" has no integer id");
    return scalar();
  }
  bool string(string_t& v) override {
    switch (top()) {
      case kModel:
        if (key_ == "type") model_type = v;
        if (key_ == "unk_token") unk_token = v;
        break;
      case kMerges: {  // older "left right" form
        size_t sp = v.find(' ', 1);
        if (sp == std::string::npos) return fail("malformed merge \"" + v.substr(0, 80) + "\"");
        merges.emplace_back(v.substr(0, sp), v.substr(sp + 1));
        break;
      }
      case kMergePair:
        if (pair_size_ == 0) merges.emplace_back(std::move(v), std::string());
        else if (pair_size_ == 1) merges.back().second = std::move(v);
        ++pair_size_;
        break;
      case kAddedEntry:
        if (key_ == "content") added.back().content = std::move(v);
        break;
      case kVocab:
        return fail("vocab entry \"" + key_ + "\" has no integer id");
      default:
        break;
    }
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool key(string_t& k) override {
    key_ = std::move(k);
    return true;
  }
  bool start_object(std::size_t) override {
    Ctx parent = top();
    Ctx c = kOther;
    if (stack_.empty()) c = kRoot;
    else if (parent == kRoot && key_ == "model") c = kModel, saw_model = true;
    else if (parent == kModel && key_ == "vocab") c = kVocab, saw_vocab = true;
    else if (parent == kAdded) c = kAddedEntry, added.emplace_back();
    else if (parent == kMerges || parent == kVocab) return fail("unexpected object in model." + std::string(parent == kVocab ? "vocab" : "merges"));
    stack_.push_back(c);
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    Ctx parent = top();
    Ctx c = kOther;
    if (parent == kModel && key_ == "merges") c = kMerges, saw_merges = true;
    else if (parent == kMerges) c = kMergePair, pair_size_ = 0;
    else if (parent == kRoot && key_ == "added_tokens") c = kAdded;
    else if (parent == kVocab) return fail("vocab entry \"" + key_ + "\" has no integer id");
    stack_.push_back(c);
    return true;
  }
  bool end_array() override {
    if (top() == kMergePair && pair_size_ != 2) return fail("a merge is not a pair of strings");
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error = std::string("not valid JSON: ") + e.what();
    return false;
  }

 private:
  enum Ctx { kNone, kRoot, kModel, kVocab, kMerges, kMergePair, kAdded, kAddedEntry, kOther };
  Ctx top() const { return stack_.empty() ? kNone : stack_.back(); }
  bool scalar() {
    if (top() == kVocab) return fail("vocab entry \"" + key_ + "\" has no integer id");
    if (top() == kMergePair || top() == kMerges) return fail("a merge is not a pair of strings");
    return true;
  }
  bool integer(int64_t v) {
    if (top() == kVocab) vocab.emplace_back(std::move(key_), v);
    else if (top() == kAddedEntry && key_ == "id") added.back().id = v;
    else return scalar();
    return true;
  }
  bool fail(const std::string& message) {
    error = message;
    return false;
  }
  std::vector<Ctx> stack_;
  std::string key_;
  int pair_size_ = 0;
};

}  // namespace

Tokenizer Tokenizer::from_json(std::string_view tokenizer_json, std::string_view config_json) {
  TokenizerJsonReader r;
  bool ok = json::sax_parse(tokenizer_json.begin(), tokenizer_json.end(), &r);
  if (!ok || !r.error.empty()) throw Error("tokenizer.json: " + (r.error.empty() ? "parse failed" : r.error), ExitCode::bad_input);
  check(r.saw_model, "tokenizer.json: no \"model\" object");
  check(r.model_type == "BPE", "tokenizer.json: model type \"" + r.model_type + "\" is not supported (Gemma 4 uses BPE)",
        ExitCode::unsupported);
  check(r.saw_vocab, "tokenizer.json: model.vocab missing or not an object");
  check(r.saw_merges, "tokenizer.json: model.merges missing or not a list");

  Tokenizer t;
  const size_t n = r.vocab.size();
  check(n > 0 && n < (1u << 30), "tokenizer.json: vocabulary size out of range");
  t.pieces_.assign(n, std::string());
  t.flags_.assign(n, 0);
  t.byte_of_.assign(n, 0);
  std::vector<bool> seen(n, false);
  for (auto& [piece, id] : r.vocab) {
    check(id >= 0 && static_cast<size_t>(id) < n && !seen[id],
          "tokenizer.json: vocab ids must be 0..N-1 without duplicates (bad id " + std::to_string(id) + ")");
    seen[id] = true;
    t.pieces_[id] = std::move(piece);
  }
  t.index_pieces();
  for (auto& b : t.byte_ids_) b = -1;
  t.bmp_id_.assign(0x10000, -1);
  for (size_t id = 0; id < n; ++id) {
    const std::string& p = t.pieces_[id];
    int byte = parse_byte_piece(p);
    if (byte >= 0 && t.byte_ids_[byte] < 0) {
      t.byte_ids_[byte] = static_cast<int32_t>(id);
      t.flags_[id] |= kByte;
      t.byte_of_[id] = static_cast<uint8_t>(byte);
    }
    uint32_t cp;
    if (!p.empty() && utf8_sequence(p, 0, &cp) == p.size()) {
      if (cp < 0x10000) t.bmp_id_[cp] = static_cast<int32_t>(id);
      else t.astral_id_.emplace(cp, static_cast<int32_t>(id));
    }
  }
  if (!r.unk_token.empty()) t.unk_id_ = t.find_piece(r.unk_token).value_or(-1);

  t.merges_.reserve(r.merges.size());
  int32_t rank = 0;
  std::string joined_piece;
  for (const auto& [left, right] : r.merges) {
    joined_piece.assign(left).append(right);
    auto l = t.find_piece(left), rt = t.find_piece(right), joined = t.find_piece(joined_piece);
    check(l && rt && joined,
          "tokenizer.json: merge \"" + left + "\" + \"" + right + "\" uses a piece missing from the vocabulary");
    t.merges_.insert((static_cast<uint64_t>(*l) << 32) | static_cast<uint32_t>(*rt), Merge{rank++, *joined});
  }

  std::vector<std::pair<std::string, int32_t>> added;
  for (auto& a : r.added) {
    check(a.id >= 0 && static_cast<size_t>(a.id) < n,
          "tokenizer.json: added token \"" + a.content + "\" has a missing id or one outside the vocabulary");
    check(!a.content.empty(), "tokenizer.json: empty added token (id " + std::to_string(a.id) + ")");
    if (a.special) t.flags_[a.id] |= kSpecial;
    if (t.pieces_[a.id] != a.content) t.added_by_text_.emplace(a.content, static_cast<int32_t>(a.id));
    added.emplace_back(std::move(a.content), static_cast<int32_t>(a.id));
  }
  t.build_added_token_trie(added);

  if (!config_json.empty()) {
    json c = parse_json_text(config_json, "tokenizer_config.json");
    if (c.is_object()) {
      for (auto it = c.begin(); it != c.end(); ++it) {
        if (it.value().is_string()) t.config_tokens_[it.key()] = it.value().get<std::string>();
        // Older configs write {"content": "<bos>", ...} objects.
        else if (it.value().is_object() && it.value().contains("content") && it.value()["content"].is_string())
          t.config_tokens_[it.key()] = it.value()["content"].get<std::string>();
      }
    }
  }
  return t;
}

void Tokenizer::build_added_token_trie(const std::vector<std::pair<std::string, int32_t>>& added) {
  trie_.assign(1, TrieNode{});
  trie_edges_.reserve(added.size() * 8);
  for (const auto& [text, id] : added) {
    int32_t node = 0;
    for (unsigned char c : text) {
      uint64_t key = (static_cast<uint64_t>(node) << 8) | c;
      auto it = trie_edges_.find(key);
      if (it == trie_edges_.end()) {
        trie_.push_back(TrieNode{});
        it = trie_edges_.emplace(key, static_cast<int32_t>(trie_.size() - 1)).first;
      }
      node = it->second;
    }
    if (trie_[node].token_id < 0) trie_[node].token_id = id;
    first_byte_[static_cast<unsigned char>(text[0])] = true;
  }
}

size_t Tokenizer::match_added_token(std::string_view text, size_t pos, int32_t* id) const {
  size_t best = 0;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    auto it = trie_edges_.find((static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(text[i]));
    if (it == trie_edges_.end()) break;
    node = it->second;
    if (trie_[node].token_id >= 0) {
      best = i + 1 - pos;
      *id = trie_[node].token_id;
    }
  }
  return best;
}

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  size_t gap_start = 0;
  for (size_t pos = 0; pos < text.size();) {
    int32_t id;
    size_t len = first_byte_[static_cast<unsigned char>(text[pos])] ? match_added_token(text, pos, &id) : 0;
    if (len == 0) {
      ++pos;
      continue;
    }
    if (pos > gap_start) encode_word(text.substr(gap_start, pos - gap_start), &out);
    out.push_back(id);
    pos += len;
    gap_start = pos;
  }
  if (gap_start < text.size()) encode_word(text.substr(gap_start), &out);
  return out;
}

int32_t Tokenizer::symbol_id(uint32_t cp) const {
  if (cp < 0x10000) return bmp_id_[cp];
  auto it = astral_id_.find(cp);
  return it == astral_id_.end() ? -1 : it->second;
}

namespace {
uint64_t hash_bytes(std::string_view s) {  // FNV-1a, then a final mix
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h ^ (h >> 29);
}
uint64_t hash_key(uint64_t k) {
  k *= 0x9E3779B97F4A7C15ull;
  return k ^ (k >> 31);
}
size_t table_size(size_t n) {
  size_t size = 16;
  while (size < 2 * n) size *= 2;
  return size;
}
}  // namespace

void Tokenizer::MergeTable::reserve(size_t n) {
  slots.assign(table_size(n), Slot{});
  mask = slots.size() - 1;
}

void Tokenizer::MergeTable::insert(uint64_t key, Merge m) {
  for (uint64_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
    if (slots[i].key == key) return;
    if (slots[i].key == ~uint64_t{0}) {
      slots[i] = {key, m};
      return;
    }
  }
}

const Tokenizer::Merge* Tokenizer::MergeTable::find(uint64_t key) const {
  if (slots.empty()) return nullptr;
  for (uint64_t i = hash_key(key) & mask;; i = (i + 1) & mask) {
    if (slots[i].key == key) return &slots[i].merge;
    if (slots[i].key == ~uint64_t{0}) return nullptr;
  }
}

void Tokenizer::index_pieces() {
  piece_index_.slots.assign(table_size(pieces_.size()), -1);
  piece_index_.mask = piece_index_.slots.size() - 1;
  for (size_t id = 0; id < pieces_.size(); ++id) {
    uint64_t i = hash_bytes(pieces_[id]) & piece_index_.mask;
    while (piece_index_.slots[i] >= 0) {
      if (pieces_[piece_index_.slots[i]] == pieces_[id]) break;  // duplicate piece: first id wins
      i = (i + 1) & piece_index_.mask;
    }
    if (piece_index_.slots[i] < 0) piece_index_.slots[i] = static_cast<int32_t>(id);
  }
}

std::optional<int32_t> Tokenizer::find_piece(std::string_view text) const {
  if (piece_index_.slots.empty()) return std::nullopt;
  for (uint64_t i = hash_bytes(text) & piece_index_.mask;; i = (i + 1) & piece_index_.mask) {
    int32_t id = piece_index_.slots[i];
    if (id < 0) return std::nullopt;
    if (pieces_[id] == text) return id;
  }
}

// BPE over one normalized "word" (a gap between added tokens). Symbols form a linked list;
// a min-heap holds candidate merges ordered by (rank, position), exactly HF's order.
void Tokenizer::encode_word(std::string_view word, std::vector<int32_t>* out) const {
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  std::vector<Symbol> sym;
  sym.reserve(word.size());
  auto push_symbol = [&](int32_t id) {
    int32_t idx = static_cast<int32_t>(sym.size());
    sym.push_back({id, idx - 1, idx + 1, true});
  };
  for (size_t pos = 0; pos < word.size();) {
    uint32_t cp;
    size_t len = utf8_sequence(word, pos, &cp);
    int32_t id = -1;
    if (len > 0) id = symbol_id(cp == ' ' ? kSpaceMark : cp);
    if (len == 0) len = 1;  // invalid UTF-8 byte: falls back to its byte token below
    if (id >= 0) {
      push_symbol(id);
    } else {
      for (size_t i = 0; i < len; ++i) {
        int32_t b = byte_ids_[static_cast<unsigned char>(word[pos + i])];
        if (b < 0) b = unk_id_;
        if (b >= 0) push_symbol(b);
      }
    }
    pos += len;
  }
  if (sym.empty()) return;
  sym.back().next = -1;

  struct Candidate {
    int32_t rank, pos, merged_id;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto consider = [&](int32_t left) {
    int32_t right = sym[left].next;
    if (right < 0) return;
    const Merge* m = merges_.find((static_cast<uint64_t>(sym[left].id) << 32) | static_cast<uint32_t>(sym[right].id));
    if (m) heap.push({m->rank, left, m->merged_id});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(sym.size()); ++i) consider(i);
  while (!heap.empty()) {
    Candidate c = heap.top();
    heap.pop();
    Symbol& left = sym[c.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = sym[left.next];
    const Merge* m = merges_.find((static_cast<uint64_t>(left.id) << 32) | static_cast<uint32_t>(right.id));
    if (!m || m->merged_id != c.merged_id) continue;  // stale candidate
    left.id = c.merged_id;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) sym[left.next].prev = c.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = sym[i].next) out->push_back(sym[i].id);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string out;
  std::string bytes;  // pending run of byte-fallback tokens
  auto flush_bytes = [&] {
    if (bytes.empty()) return;
    size_t pos = 0;
    uint32_t cp;
    bool valid = true;
    while (pos < bytes.size()) {
      size_t len = utf8_sequence(bytes, pos, &cp);
      if (len == 0) {
        valid = false;
        break;
      }
      pos += len;
    }
    if (valid) {
      out += bytes;
    } else {
      for (size_t i = 0; i < bytes.size(); ++i) out += "\xEF\xBF\xBD";  // U+FFFD per byte, as HF
    }
    bytes.clear();
  };
  for (int32_t id : ids) {
    check(id >= 0 && id < vocab_size(), "token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                                            std::to_string(vocab_size() - 1) + ")");
    if (skip_special && is_special(id)) continue;
    if (is_byte(id)) {
      bytes.push_back(static_cast<char>(byte_of_[id]));
      continue;
    }
    flush_bytes();
    const std::string& p = pieces_[id];
    for (size_t i = 0; i < p.size(); ++i) {
      if (p.compare(i, 3, "\xE2\x96\x81") == 0) {
        out.push_back(' ');
        i += 2;
      } else {
        out.push_back(p[i]);
      }
    }
  }
  flush_bytes();
  return out;
}

const std::string& Tokenizer::piece(int32_t id) const {
  check(id >= 0 && id < vocab_size(), "token id " + std::to_string(id) + " is outside the vocabulary");
  return pieces_[id];
}

std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  if (auto id = find_piece(text)) return id;
  auto it = added_by_text_.find(std::string(text));
  if (it == added_by_text_.end()) return std::nullopt;
  return it->second;
}

int32_t Tokenizer::token_id(std::string_view text) const {
  auto id = find_token(text);
  check(id.has_value(), "the tokenizer has no token \"" + std::string(text) + "\" (is this a Gemma 4 tokenizer?)",
        ExitCode::unsupported);
  return *id;
}

bool Tokenizer::is_special(int32_t id) const { return id >= 0 && id < vocab_size() && (flags_[id] & kSpecial); }
bool Tokenizer::is_byte(int32_t id) const { return id >= 0 && id < vocab_size() && (flags_[id] & kByte); }
uint8_t Tokenizer::byte_value(int32_t id) const { return is_byte(id) ? byte_of_[id] : 0; }

std::string Tokenizer::config_token(const std::string& key, const std::string& fallback) const {
  auto it = config_tokens_.find(key);
  return it == config_tokens_.end() ? fallback : it->second;
}

}  // namespace gemma4
