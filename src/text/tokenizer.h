// Gemma 4 tokenizer: a Hugging Face `tokenizer.json` (BPE with byte fallback) read once into
// compact tables. Matches HF `tokenizers` for this pipeline (spec tokenizer_chat.md §2.4-2.5):
//   encode = added-token pass (leftmost-longest over all added_tokens, on the raw text)
//            -> each gap: ' ' -> '▁' (no dummy prefix) -> BPE over code points, lowest merge
//               rank first, ties leftmost; a code point missing from the vocab becomes its
//               UTF-8 bytes as <0xXX> tokens (so invalid UTF-8 input is fine too).
//   decode = pieces with '▁' -> ' ', runs of <0xXX> tokens fused and read as UTF-8 (an invalid
//            run gives one U+FFFD per byte, as HF's ByteFallback decoder does).
// No BOS is added: the chat template writes the literal "<bos>", which is an added token.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace gemma4 {

class Tokenizer {
 public:
  // Loads DIR/tokenizer.json (and DIR/tokenizer_config.json when present); DIR may also be
  // the tokenizer.json file itself. Throws Error (not_found / bad_input) with a clear message.
  static Tokenizer load(const std::string& dir);
  // Builds from the JSON texts directly (config may be empty). Used by load() and the tests.
  static Tokenizer from_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json = {});

  // Text -> ids, honouring added/special tokens written in the text (like HF with
  // add_special_tokens=false). Never throws on any byte string.
  std::vector<int32_t> encode(std::string_view text) const;
  // Ids -> text. Special tokens are kept as their text unless skip_special. Throws Error on an
  // id outside the vocabulary.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;

  // The raw vocabulary piece of an id (e.g. "▁world", "<0x0A>", "<turn|>").
  const std::string& piece(int32_t id) const;
  // The id of an exact piece / special token text ("<|turn>"), or nullopt.
  std::optional<int32_t> find_token(std::string_view text) const;
  // Same, but throws Error naming the token when it is missing.
  int32_t token_id(std::string_view text) const;
  int32_t vocab_size() const { return static_cast<int32_t>(pieces_.size()); }

  bool is_special(int32_t id) const;  // HF "special": true added tokens (<bos>, <|turn>, ...)
  bool is_byte(int32_t id) const;     // a <0xXX> byte-fallback token
  uint8_t byte_value(int32_t id) const;  // valid when is_byte(id)

  // Named tokens from tokenizer_config.json ("bos_token" -> "<bos>", "image_token" -> "<|image|>").
  // Returns `fallback` when the config does not name it.
  std::string config_token(const std::string& key, const std::string& fallback) const;

 private:
  struct Merge {
    int32_t rank;
    int32_t merged_id;
  };
  // Open-addressing table (left_id << 32 | right_id) -> Merge: one probe per pair in the
  // BPE inner loop, no per-entry allocation (514 906 merges load in tens of ms).
  struct MergeTable {
    struct Slot {
      uint64_t key = ~uint64_t{0};
      Merge merge{};
    };
    std::vector<Slot> slots;
    uint64_t mask = 0;
    void reserve(size_t n);
    void insert(uint64_t key, Merge m);  // keeps the first insert for a key
    const Merge* find(uint64_t key) const;
  };
  // Open-addressing index piece text -> id over pieces_ (no copies of the strings).
  struct PieceIndex {
    std::vector<int32_t> slots;
    uint64_t mask = 0;
  };
  void index_pieces();
  std::optional<int32_t> find_piece(std::string_view text) const;
  struct TrieNode {
    int32_t token_id = -1;  // an added token ends here
  };

  void build_added_token_trie(const std::vector<std::pair<std::string, int32_t>>& added);
  // Longest added token starting at text[pos]: returns its byte length (0 if none), sets *id.
  size_t match_added_token(std::string_view text, size_t pos, int32_t* id) const;
  void encode_word(std::string_view word, std::vector<int32_t>* out) const;
  int32_t symbol_id(uint32_t code_point) const;

  std::vector<std::string> pieces_;
  PieceIndex piece_index_;
  std::unordered_map<std::string, int32_t> added_by_text_;  // added tokens whose text differs from their piece
  std::vector<int32_t> bmp_id_;                               // code point < 0x10000 -> id of that one-character piece
  std::unordered_map<uint32_t, int32_t> astral_id_;           // the same above U+FFFF
  MergeTable merges_;
  int32_t byte_ids_[256];
  int32_t unk_id_ = -1;
  std::vector<uint8_t> flags_;  // per id: bit 0 special, bit 1 byte token
  std::vector<uint8_t> byte_of_;
  // Added-token trie: nodes, children keyed by (node << 8 | byte).
  std::vector<TrieNode> trie_;
  std::unordered_map<uint64_t, int32_t> trie_edges_;
  bool first_byte_[256] = {};
  std::unordered_map<std::string, std::string> config_tokens_;
};

// Appends the UTF-8 encoding of a code point.
void append_utf8(std::string* out, uint32_t code_point);
// Length of the valid UTF-8 sequence at s[pos] (1-4), or 0 if the bytes there are not a valid
// (complete) sequence. *code_point receives the value when valid.
size_t utf8_sequence(std::string_view s, size_t pos, uint32_t* code_point);

}  // namespace gemma4
