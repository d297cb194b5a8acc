#include "text/tool_call_args.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace gemma4 {

using json = nlohmann::json;

namespace {

constexpr std::string_view kQuote = "<|\"|>";
constexpr int kMaxDepth = 64;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// A bare word: true/false/null, a number, or else the word itself as a string.
json bare_value(std::string_view word) {
  if (word == "true") return true;
  if (word == "false") return false;
  if (word == "null" || word == "None") return nullptr;
  if (!word.empty() && word.size() < 64) {
    std::string w(word);
    bool is_int = w.find_first_of(".eE") == std::string::npos;
    char* end = nullptr;
    errno = 0;
    if (is_int) {
      long long v = std::strtoll(w.c_str(), &end, 10);
      if (end == w.c_str() + w.size() && errno == 0 && (std::isdigit(static_cast<unsigned char>(w.back())))) return v;
    }
    errno = 0;
    double d = std::strtod(w.c_str(), &end);
    bool numeric_chars = w.find_first_not_of("0123456789+-.eE") == std::string::npos;
    if (numeric_chars && end == w.c_str() + w.size() && errno == 0) return d;
  }
  return std::string(word);
}

class ValueParser {
 public:
  explicit ValueParser(std::string_view s) : s_(s) {}
  bool complete = true;

  json value(int depth) {
    skip_space();
    if (at_end()) {
      complete = false;
      return nullptr;
    }
    if (depth >= kMaxDepth) {  // absurd nesting: keep the rest as text instead of recursing
      complete = false;
      json rest = std::string(s_.substr(p_));
      p_ = s_.size();
      return rest;
    }
    if (starts_with(kQuote)) return gemma_string();
    char c = s_[p_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') return json_string();
    return bare_value(trim(read_until(",}]")));
  }

  size_t position() const { return p_; }
  bool at_end() const { return p_ >= s_.size(); }
  void skip_space() {
    while (!at_end() && is_space(s_[p_])) ++p_;
  }

 private:
  bool starts_with(std::string_view t) const { return s_.substr(p_, t.size()) == t; }

  std::string_view read_until(std::string_view stops) {
    size_t b = p_;
    while (!at_end() && stops.find(s_[p_]) == std::string_view::npos && !starts_with(kQuote)) ++p_;
    return s_.substr(b, p_ - b);
  }

  json gemma_string() {
    p_ += kQuote.size();
    size_t end = s_.find(kQuote, p_);
    if (end == std::string_view::npos) {  // unterminated: take the rest
      complete = false;
      end = s_.size();
    }
    json v = std::string(s_.substr(p_, end - p_));
    p_ = std::min(s_.size(), end + kQuote.size());
    return v;
  }

  // A JSON-style "..." string (models sometimes fall back to it); escapes decoded by nlohmann.
  json json_string() {
    size_t b = p_++;
    while (!at_end() && s_[p_] != '"') p_ += s_[p_] == '\\' ? 2 : 1;
    if (at_end()) {
      complete = false;
      p_ = s_.size();
      return std::string(s_.substr(b + 1));
    }
    ++p_;
    json v = json::parse(s_.substr(b, p_ - b), nullptr, false);
    if (v.is_discarded() || !v.is_string()) {
      complete = false;
      return std::string(s_.substr(b + 1, p_ - b - 2));
    }
    return v;
  }

  std::string key() {
    skip_space();
    if (starts_with(kQuote)) return gemma_string().get<std::string>();
    if (!at_end() && s_[p_] == '"') {
      json k = json_string();
      return k.is_string() ? k.get<std::string>() : std::string();
    }
    return std::string(trim(read_until(":,}")));
  }

  json object(int depth) {
    ++p_;  // '{'
    json obj = json::object();
    while (true) {
      skip_space();
      if (at_end()) {
        complete = false;
        return obj;
      }
      char c = s_[p_];
      if (c == '}') {
        ++p_;
        return obj;
      }
      if (c == ',') {
        ++p_;
        continue;
      }
      size_t before = p_;
      std::string k = key();
      skip_space();
      if (!at_end() && s_[p_] == ':') {
        ++p_;
        obj[k] = value(depth + 1);
      } else {
        complete = false;  // a key without a value
        if (!k.empty()) obj[k] = nullptr;
        if (p_ == before) ++p_;  // always make progress
      }
    }
  }

  json array(int depth) {
    ++p_;  // '['
    json arr = json::array();
    while (true) {
      skip_space();
      if (at_end()) {
        complete = false;
        return arr;
      }
      char c = s_[p_];
      if (c == ']') {
        ++p_;
        return arr;
      }
      if (c == ',') {
        ++p_;
        continue;
      }
      size_t before = p_;
      arr.push_back(value(depth + 1));
      if (p_ == before) {
        complete = false;
        ++p_;
      }
    }
  }

  std::string_view s_;
  size_t p_ = 0;
};

}  // namespace

json parse_gemma_value(std::string_view text, bool* complete) {
  ValueParser p(text);
  json v = p.value(0);
  p.skip_space();
  if (complete) *complete = p.complete && p.at_end();
  return v;
}

ParsedToolCall parse_tool_call(std::string_view text) {
  ParsedToolCall call;
  std::string_view s = trim(text);
  if (s.substr(0, 5) == "call:") s.remove_prefix(5);
  else call.complete = false;
  size_t brace = s.find('{');
  call.name = std::string(trim(s.substr(0, brace)));
  if (brace == std::string_view::npos) {
    call.complete = false;
    return call;
  }
  bool complete = true;
  json args = parse_gemma_value(s.substr(brace), &complete);
  call.complete = call.complete && complete && args.is_object();
  if (args.is_object()) call.arguments = std::move(args);
  return call;
}

}  // namespace gemma4
