// Native port of the Gemma 4 E2B chat template (see chat_format.h). Each function mirrors one
// macro or block of the template; comments quote the template where its behaviour is subtle.
#include "text/chat_format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "base/error.h"
#include "text/tokenizer.h"

namespace gemma4 {

using json = nlohmann::json;

namespace {

constexpr int kMaxDepth = 64;  // nesting limit for argument/schema values (untrusted input)
const char* const kQuote = "<|\"|>";

// ---- Jinja value semantics -------------------------------------------------------------

// A missing key is Jinja's `undefined`; we use nullptr for it.
const json* get(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

bool truthy(const json* v) {
  if (!v || v->is_null()) return false;
  if (v->is_boolean()) return v->get<bool>();
  if (v->is_number_integer()) return v->get<int64_t>() != 0;
  if (v->is_number_unsigned()) return v->get<uint64_t>() != 0;
  if (v->is_number_float()) return v->get<double>() != 0.0;
  if (v->is_string()) return !v->get_ref<const std::string&>().empty();
  return !v->empty();  // arrays and objects
}

// Python's repr() of a float: shortest round-trip digits, scientific outside 1e-4 <= |x| < 1e16.
std::string python_float(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  if (x == 0) return std::signbit(x) ? "-0.0" : "0.0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::scientific);
  std::string sci(buf, r.ptr);  // e.g. "-1.2345e+02"
  size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  int exp10 = std::stoi(sci.substr(e + 1));
  bool neg = mantissa[0] == '-';
  if (neg) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits.push_back(c);
  std::string out = neg ? "-" : "";
  if (exp10 < -4 || exp10 >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof(eb), "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
    return out + eb;
  }
  if (exp10 < 0) return out + "0." + std::string(-exp10 - 1, '0') + digits;
  if (static_cast<int>(digits.size()) <= exp10 + 1) return out + digits + std::string(exp10 + 1 - digits.size(), '0') + ".0";
  return out + digits.substr(0, exp10 + 1) + "." + digits.substr(exp10 + 1);
}

std::string python_repr(const json& v, int depth = 0);

// What `{{ value }}` prints in Python Jinja2 (str()).
std::string python_str(const json* v, int depth = 0) {
  if (!v) return "";
  if (v->is_string()) return v->get<std::string>();
  return python_repr(*v, depth);
}

std::string python_repr(const json& v, int depth) {
  check(depth < kMaxDepth, "chat request: value nested too deeply");
  switch (v.type()) {
    case json::value_t::null: return "None";
    case json::value_t::boolean: return v.get<bool>() ? "True" : "False";
    case json::value_t::number_integer: return std::to_string(v.get<int64_t>());
    case json::value_t::number_unsigned: return std::to_string(v.get<uint64_t>());
    case json::value_t::number_float: return python_float(v.get<double>());
    case json::value_t::string: return "'" + v.get<std::string>() + "'";
    case json::value_t::array: {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + python_repr(v[i], depth + 1);
      return s + "]";
    }
    case json::value_t::object: {
      std::string s = "{";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it, first = false)
        s += (first ? "'" : ", '") + it.key() + "': " + python_repr(it.value(), depth + 1);
      return s + "}";
    }
    default: return "";
  }
}

std::string ascii_upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}
std::string ascii_lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// `x | upper` (undefined prints as "").
std::string upper(const json* v) { return ascii_upper(python_str(v)); }

// Python str.strip(): ASCII whitespace plus the Unicode spaces Python treats as whitespace.
std::string trim(const std::string& s) {
  auto space_len = [&](size_t i, bool backwards) -> size_t {
    static const char* const kUnicodeSpaces[] = {"\xC2\x85", "\xC2\xA0", "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x81",
                                                 "\xE2\x80\x82", "\xE2\x80\x83", "\xE2\x80\x84", "\xE2\x80\x85",
                                                 "\xE2\x80\x86", "\xE2\x80\x87", "\xE2\x80\x88", "\xE2\x80\x89",
                                                 "\xE2\x80\x8A", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAF",
                                                 "\xE2\x81\x9F", "\xE3\x80\x80"};
    unsigned char c = static_cast<unsigned char>(backwards ? s[i - 1] : s[i]);
    if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return 1;
    for (const char* u : kUnicodeSpaces) {
      size_t n = std::char_traits<char>::length(u);
      if (backwards ? (i >= n && s.compare(i - n, n, u) == 0) : s.compare(i, n, u) == 0) return n;
    }
    return 0;
  };
  size_t b = 0, e = s.size();
  while (b < e) {
    size_t n = space_len(b, false);
    if (!n) break;
    b += n;
  }
  while (e > b) {
    size_t n = space_len(e, true);
    if (!n) break;
    e -= n;
  }
  return s.substr(b, e - b);
}

// `mapping | dictsort`: items sorted by key, case-insensitively (Jinja's default).
std::vector<std::pair<std::string, const json*>> dictsort(const json& obj) {
  std::vector<std::pair<std::string, const json*>> items;
  if (!obj.is_object()) return items;
  for (auto it = obj.begin(); it != obj.end(); ++it) items.emplace_back(it.key(), &it.value());
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return ascii_lower(a.first) < ascii_lower(b.first); });
  return items;
}

// ---- template macros ------------------------------------------------------------------------

std::string format_argument(const json& argument, bool escape_keys, int depth = 0) {
  check(depth < kMaxDepth, "chat request: value nested too deeply");
  if (argument.is_null()) return "null";
  if (argument.is_string()) return kQuote + argument.get<std::string>() + kQuote;
  if (argument.is_boolean()) return argument.get<bool>() ? "true" : "false";
  if (argument.is_object()) {
    std::string s = "{";
    bool first = true;
    for (const auto& [key, value] : dictsort(argument)) {
      if (!first) s += ",";
      first = false;
      s += escape_keys ? kQuote + key + kQuote : key;
      s += ":" + format_argument(*value, escape_keys, depth + 1);
    }
    return s + "}";
  }
  if (argument.is_array()) {
    std::string s = "[";
    for (size_t i = 0; i < argument.size(); ++i) s += (i ? "," : "") + format_argument(argument[i], escape_keys, depth + 1);
    return s + "]";
  }
  return python_str(&argument);
}

std::string quoted_list(const json* items) {
  std::string s;
  if (!items || !items->is_array()) return s;
  for (size_t i = 0; i < items->size(); ++i) s += (i ? "," : "") + (kQuote + python_str(&(*items)[i]) + kQuote);
  return s;
}

std::string format_parameters(const json& properties, bool filter_keys, int depth) {
  check(depth < kMaxDepth, "chat request: tool schema nested too deeply");
  static const char* const kStandardKeys[] = {"description", "type", "properties", "required", "nullable"};
  static const json kEmpty = json::object();
  std::string out;
  bool found_first = false;
  for (const auto& [key, value_ptr] : dictsort(properties)) {
    const json& value = value_ptr->is_object() ? *value_ptr : kEmpty;
    if (filter_keys && std::find(std::begin(kStandardKeys), std::end(kStandardKeys), key) != std::end(kStandardKeys))
      continue;
    bool add_comma = false;
    auto comma = [&] {
      if (add_comma) out += ",";
      add_comma = true;
    };
    if (found_first) out += ",";
    found_first = true;
    out += key + ":{";
    if (truthy(get(value, "description"))) {
      out += std::string("description:") + kQuote + python_str(get(value, "description")) + kQuote;
      add_comma = true;
    }
    const std::string type = upper(get(value, "type"));
    if (type == "STRING") {
      if (truthy(get(value, "enum"))) {
        comma();
        out += "enum:" + format_argument(*get(value, "enum"), true, depth + 1);
      }
    } else if (type == "ARRAY") {
      const json* items = get(value, "items");
      if (items && items->is_object() && !items->empty()) {
        comma();
        out += "items:{";
        bool first_item = true;
        for (const auto& [item_key, item_value] : dictsort(*items)) {
          if (item_value->is_null()) continue;
          if (!first_item) out += ",";
          first_item = false;
          if (item_key == "properties") {
            out += "properties:{";
            if (item_value->is_object()) out += format_parameters(*item_value, false, depth + 1);
            out += "}";
          } else if (item_key == "required") {
            out += "required:[" + quoted_list(item_value) + "]";
          } else if (item_key == "type") {
            if (item_value->is_string()) {
              out += "type:" + format_argument(ascii_upper(item_value->get<std::string>()), true);
            } else {
              json upper_list = json::array();
              if (item_value->is_array())
                for (const json& t : *item_value) upper_list.push_back(upper(&t));
              out += "type:" + format_argument(upper_list, true);
            }
          } else {
            out += item_key + ":" + format_argument(*item_value, true, depth + 1);
          }
        }
        out += "}";
      }
    }
    if (truthy(get(value, "nullable"))) {
      comma();
      out += "nullable:true";
    }
    if (type == "OBJECT") {
      const json* props = get(value, "properties");
      if (props && props->is_object()) {
        comma();
        out += "properties:{" + format_parameters(*props, false, depth + 1) + "}";
      } else {  // `value is mapping`: always true here
        comma();
        out += "properties:{" + format_parameters(value, true, depth + 1) + "}";
      }
      if (truthy(get(value, "required"))) {
        comma();
        out += "required:[" + quoted_list(get(value, "required")) + "]";
      }
    }
    comma();
    out += std::string("type:") + kQuote + type + kQuote + "}";
  }
  return out;
}

std::string format_function_declaration(const json& tool) {
  static const json kEmpty = json::object();
  const json* fn_ptr = get(tool, "function");
  const json& fn = fn_ptr && fn_ptr->is_object() ? *fn_ptr : kEmpty;
  std::string out = "declaration:" + python_str(get(fn, "name")) + "{description:" + kQuote +
                    python_str(get(fn, "description")) + kQuote;
  const json* params = get(fn, "parameters");
  if (truthy(params)) {
    out += ",parameters:{";
    if (truthy(get(*params, "properties"))) out += "properties:{" + format_parameters(*get(*params, "properties"), false, 0) + "},";
    if (truthy(get(*params, "required"))) out += "required:[" + quoted_list(get(*params, "required")) + "],";
    if (truthy(get(*params, "type"))) out += std::string("type:") + kQuote + upper(get(*params, "type")) + kQuote + "}";
  }
  if (const json* response = get(fn, "response")) {
    out += ",response:{";
    if (truthy(get(*response, "description")))
      out += std::string("description:") + kQuote + python_str(get(*response, "description")) + kQuote + ",";
    if (upper(get(*response, "type")) == "OBJECT") out += std::string("type:") + kQuote + "OBJECT" + kQuote + "}";
  }
  return out + "}";
}

// Removes every <|channel>…<channel|> span from past assistant content, then trims.
std::string strip_thinking(const std::string& text) {
  std::string result;
  size_t start = 0;
  while (true) {
    size_t end = text.find("<channel|>", start);
    std::string part = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    size_t open = part.find("<|channel>");
    result += open == std::string::npos ? part : part.substr(0, open);
    if (end == std::string::npos) break;
    start = end + std::string("<channel|>").size();
  }
  return trim(result);
}

std::string format_tool_response_block(const std::string& tool_name, const json* response) {
  std::string out = "<|tool_response>";
  if (response && response->is_object()) {
    out += "response:" + tool_name + "{";
    bool first = true;
    for (const auto& [key, value] : dictsort(*response)) {
      if (!first) out += ",";
      first = false;
      out += key + ":" + format_argument(*value, false);
    }
    out += "}";
  } else {
    static const json kNull;
    out += "response:" + tool_name + "{value:" + format_argument(response ? *response : kNull, false) + "}";
  }
  return out + "<tool_response|>";
}

// ---- media parts ---------------------------------------------------------------------------

const char* placeholder(MediaKind kind) {
  switch (kind) {
    case MediaKind::image: return "<|image|>";
    case MediaKind::audio: return "<|audio|>";
    case MediaKind::video: return "<|video|>";
  }
  return "";
}

// The kind of a content part, or false for text/unknown parts.
bool media_kind_of(const json& part, MediaKind* kind) {
  const json* type = get(part, "type");
  if (!type || !type->is_string()) return false;
  const std::string& t = type->get_ref<const std::string&>();
  if (t == "image" || t == "image_url") *kind = MediaKind::image;
  else if (t == "audio" || t == "input_audio") *kind = MediaKind::audio;
  else if (t == "video") *kind = MediaKind::video;
  else return false;
  return true;
}

// Where the part's bytes come from: the first string among the usual OpenAI/HF fields.
MediaPart media_part(const json& part, MediaKind kind) {
  MediaPart m{kind, "", ""};
  for (const char* field : {"url", "path", "image", "audio", "video", "data", "image_url", "input_audio", "audio_url", "video_url"}) {
    const json* v = get(part, field);
    if (!v) continue;
    if (v->is_string()) {
      m.source = v->get<std::string>();
      break;
    }
    if (v->is_object()) {
      for (const char* inner : {"url", "data", "path"}) {
        const json* s = get(*v, inner);
        if (s && s->is_string()) {
          m.source = s->get<std::string>();
          break;
        }
      }
      const json* fmt = get(*v, "format");
      if (fmt && fmt->is_string()) m.format = fmt->get<std::string>();
      if (!m.source.empty()) break;
    }
  }
  return m;
}

class Renderer {
 public:
  Renderer(const ChatRequest& r, const std::string& bos) : req_(r), bos_(bos) {}

  RenderedPrompt render() {
    const json& messages = req_.messages;
    out_.text = bos_;
    size_t first = 0;
    const bool first_is_system = !messages.empty() && is_system_role(messages[0]);
    if (req_.enable_thinking || !req_.tools.empty() || first_is_system) {
      out_.text += "<|turn>system\n";
      if (req_.enable_thinking) {
        out_.text += "<|think|>\n";
        prev_type_ = "think";
      }
      if (first_is_system) {
        const json* content = get(messages[0], "content");
        if (content && content->is_string()) {
          out_.text += trim(content->get<std::string>());
        } else if (content && content->is_array()) {
          for (const json& item : *content) out_.text += trim(python_str(get(item, "text"))) + " ";
        }
        first = 1;
      }
      for (const json& tool : req_.tools) out_.text += "<|tool>" + trim(format_function_declaration(tool)) + "<tool|>";
      if (!req_.tools.empty()) prev_type_ = "tool";
      out_.text += "<turn|>\n";
    }
    for (size_t i = first; i < messages.size(); ++i) loop_.push_back(&messages[i]);
    for (size_t i = 0; i < loop_.size(); ++i)
      if (role(i) == "user") last_user_ = static_cast<int64_t>(i);
    for (size_t i = 0; i < loop_.size(); ++i)
      if (role(i) != "tool") render_message(i);
    if (req_.add_generation_prompt) {
      if (prev_type_ != "tool_response" && prev_type_ != "tool_call") out_.text += "<|turn>model\n";
      else if (prev_type_ == "tool_response" && req_.enable_thinking) out_.text += "<|channel>thought\n";
    }
    return std::move(out_);
  }

 private:
  static bool is_system_role(const json& m) {
    const std::string r = m.value("role", "");
    return r == "system" || r == "developer";
  }
  static const json& function_of(const json& call) {
    static const json kEmpty = json::object();
    const json* fn = get(call, "function");
    return fn && fn->is_object() ? *fn : kEmpty;
  }
  std::string role(size_t i) const { return loop_[i]->value("role", ""); }

  void emit_media(const json& part) {
    MediaKind kind;
    if (!media_kind_of(part, &kind)) return;
    out_.text += placeholder(kind);
    out_.media.push_back(media_part(part, kind));
  }

  void render_message(size_t i) {
    const json& message = *loop_[i];
    prev_type_.clear();
    const std::string message_role = role(i);
    const std::string turn_role = message_role == "assistant" ? "model" : message_role;
    const bool continue_same_model_turn = turn_role == "model" && prev_non_tool_role_ == "assistant";
    if (!continue_same_model_turn) out_.text += "<|turn>" + turn_role + "\n";

    // Reasoning replay: only after the last user message (or preserve_thinking on tool calls).
    const json* thinking = get(message, "reasoning");
    if (!truthy(thinking)) thinking = get(message, "reasoning_content");
    const json* tool_calls = get(message, "tool_calls");
    const bool gate = static_cast<int64_t>(i) > last_user_ || (req_.preserve_thinking && truthy(tool_calls));
    if (truthy(thinking) && gate) out_.text += "<|channel>thought\n" + python_str(thinking) + "\n<channel|>";

    if (truthy(tool_calls) && tool_calls->is_array()) {
      for (const json& call : *tool_calls) {
        const json& fn = function_of(call);
        out_.text += "<|tool_call>call:" + python_str(get(fn, "name")) + "{";
        const json* args = get(fn, "arguments");
        if (args && args->is_object()) {
          bool first = true;
          for (const auto& [key, value] : dictsort(*args)) {
            if (!first) out_.text += ",";
            first = false;
            out_.text += key + ":" + format_argument(*value, false);
          }
        }
        out_.text += "}<tool_call|>";
      }
      prev_type_ = "tool_call";
    }

    bool responded = false;
    const json* tool_responses = get(message, "tool_responses");
    if (truthy(tool_responses) && tool_responses->is_array()) {
      for (const json& tr : *tool_responses) {
        const json* name = get(tr, "name");
        out_.text += format_tool_response_block(truthy(name) ? python_str(name) : "unknown", get(tr, "response"));
        responded = true;
        prev_type_ = "tool_response";
      }
    } else if (truthy(tool_calls) && tool_calls->is_array()) {
      // OpenAI style: the role:"tool" messages right after this one answer its calls.
      for (size_t k = i + 1; k < loop_.size() && role(k) == "tool"; ++k) {
        const json& follow = *loop_[k];
        const json* follow_name = get(follow, "name");
        std::string name = truthy(follow_name) ? python_str(follow_name) : "unknown";
        const json* call_id = get(follow, "tool_call_id");
        for (const json& call : *tool_calls) {
          const json* id = get(call, "id");
          bool same = (id == nullptr || id->is_null()) ? (call_id == nullptr || call_id->is_null())
                                                         : (call_id != nullptr && *id == *call_id);
          if (same) name = python_str(get(function_of(call), "name"));
        }
        const json* body = get(follow, "content");
        if (body && body->is_array()) {
          std::string text;
          for (const json& part : *body)
            if (part.value("type", "") == "text") text += python_str(get(part, "text"));
          json text_json = text;
          out_.text += format_tool_response_block(name, &text_json);
          for (const json& part : *body) emit_media(part);
        } else {
          out_.text += format_tool_response_block(name, body);
        }
        responded = true;
        prev_type_ = "tool_response";
      }
    }

    const size_t before_content = out_.text.size();
    const json* content = get(message, "content");
    if (content && content->is_string()) {
      out_.text += turn_role == "model" ? strip_thinking(content->get<std::string>()) : trim(content->get<std::string>());
    } else if (content && content->is_array()) {
      for (const json& item : *content) {
        if (item.value("type", "") == "text") {
          std::string text = python_str(get(item, "text"));
          out_.text += turn_role == "model" ? strip_thinking(text) : trim(text);
        } else {
          emit_media(item);
        }
      }
    }
    const bool has_content = !trim(out_.text.substr(before_content)).empty();

    std::string next_role;
    bool next_found = false;
    for (size_t j = i + 1; j < loop_.size() && !next_found; ++j) {
      if (role(j) != "tool") {
        next_role = role(j);
        next_found = true;
      }
    }
    const bool continues_into_next =
        turn_role == "model" && next_role == "assistant" && (!truthy(tool_calls) || responded);
    if (prev_type_ == "tool_call" && !responded) {
      out_.text += "<|tool_response>";
    } else if (continues_into_next) {
    } else if (!(responded && !has_content && !next_found)) {
      out_.text += "<turn|>\n";
    }
    prev_non_tool_role_ = message_role;
  }

  const ChatRequest& req_;
  const std::string& bos_;
  RenderedPrompt out_;
  std::vector<const json*> loop_;
  int64_t last_user_ = -1;
  std::string prev_type_, prev_non_tool_role_;
};

// ---- request validation --------------------------------------------------------------------

void validate_message(json& m, size_t index) {
  const std::string where = "chat request: messages[" + std::to_string(index) + "]";
  check(m.is_object(), where + " must be an object");
  check(m.contains("role") && m["role"].is_string(), where + " needs a string \"role\"");
  if (m.contains("content")) {
    json& c = m["content"];
    check(c.is_null() || c.is_string() || c.is_array(), where + ".content must be a string or a list of parts");
    if (c.is_array()) {
      for (const json& part : c) {
        check(part.is_object(), where + ".content has a part that is not an object");
        check(!part.contains("type") || part["type"].is_string(), where + ".content has a part whose \"type\" is not a string");
        if (part.value("type", "") == "text")
          check(part.contains("text") && part["text"].is_string(), where + ".content has a text part without a string \"text\"");
      }
    }
  }
  if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
    json& calls = m["tool_calls"];
    check(calls.is_array(), where + ".tool_calls must be a list");
    for (json& call : calls) {
      check(call.is_object() && call.contains("function") && call["function"].is_object(),
            where + ".tool_calls[] needs a \"function\" object");
      json& fn = call["function"];
      check(fn.contains("name") && fn["name"].is_string(), where + ".tool_calls[].function needs a string \"name\"");
      if (fn.contains("arguments") && fn["arguments"].is_string()) {
        // OpenAI sends arguments as a JSON string; the template needs the object.
        json parsed = json::parse(fn["arguments"].get<std::string>(), nullptr, false);
        check(!parsed.is_discarded() && (parsed.is_object() || parsed.is_null()),
              where + ".tool_calls[].function.arguments must be a JSON object (or a string holding one)");
        fn["arguments"] = std::move(parsed);
      }
      check(!fn.contains("arguments") || fn["arguments"].is_object() || fn["arguments"].is_null(),
            where + ".tool_calls[].function.arguments must be a JSON object (mapping)");
    }
  }
  if (m.contains("tool_responses") && !m["tool_responses"].is_null()) {
    check(m["tool_responses"].is_array(), where + ".tool_responses must be a list");
    for (const json& tr : m["tool_responses"]) check(tr.is_object(), where + ".tool_responses[] must be objects");
  }
}

bool optional_bool(const json& j, const char* key, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  check(j[key].is_boolean(), std::string("chat request: \"") + key + "\" must be true or false");
  return j[key].get<bool>();
}

}  // namespace

const char* media_kind_name(MediaKind kind) {
  switch (kind) {
    case MediaKind::image: return "image";
    case MediaKind::audio: return "audio";
    case MediaKind::video: return "video";
  }
  return "?";
}

ChatRequest ChatRequest::from_json(const json& request) {
  check(request.is_object(), "chat request: expected a JSON object with \"messages\"");
  check(request.contains("messages") && request["messages"].is_array(), "chat request: \"messages\" must be a list");
  ChatRequest r;
  r.messages = request["messages"];
  for (size_t i = 0; i < r.messages.size(); ++i) validate_message(r.messages[i], i);
  if (request.contains("tools") && !request["tools"].is_null()) {
    check(request["tools"].is_array(), "chat request: \"tools\" must be a list");
    r.tools = request["tools"];
    for (const json& tool : r.tools) {
      check(tool.is_object() && tool.contains("function") && tool["function"].is_object(),
            "chat request: each tool needs a \"function\" object ({\"type\": \"function\", \"function\": {...}})");
      check(tool["function"].contains("name") && tool["function"]["name"].is_string(),
            "chat request: each tool function needs a string \"name\"");
    }
  }
  // vLLM/SGLang clients pass template switches in chat_template_kwargs.
  json kwargs = request.contains("chat_template_kwargs") && request["chat_template_kwargs"].is_object()
                    ? request["chat_template_kwargs"]
                    : json::object();
  r.enable_thinking = optional_bool(request, "enable_thinking", optional_bool(kwargs, "enable_thinking", false));
  r.add_generation_prompt = optional_bool(request, "add_generation_prompt", true);
  r.preserve_thinking = optional_bool(request, "preserve_thinking", optional_bool(kwargs, "preserve_thinking", false));
  return r;
}

ChatRequest ChatRequest::parse(const std::string& json_text) {
  json j = json::parse(json_text, nullptr, false);
  check(!j.is_discarded(), "chat request: not valid JSON");
  return from_json(j);
}

RenderedPrompt render_chat(const ChatRequest& request, const std::string& bos_token) {
  return Renderer(request, bos_token).render();
}

std::string format_gemma_value(const json& value, bool escape_keys) { return format_argument(value, escape_keys); }

MediaTokens MediaTokens::from_tokenizer(const Tokenizer& tok) {
  auto id = [&](const char* key, const char* fallback) {
    auto found = tok.find_token(tok.config_token(key, fallback));
    return found ? *found : -1;
  };
  MediaTokens t;
  t.image = id("image_token", "<|image|>");
  t.image_begin = id("boi_token", "<|image>");
  t.image_end = id("eoi_token", "<image|>");
  t.audio = id("audio_token", "<|audio|>");
  t.audio_begin = id("boa_token", "<|audio>");
  t.audio_end = id("eoa_token", "<audio|>");
  t.video = id("video_token", "<|video|>");
  return t;
}

ExpandedPrompt expand_media(const std::vector<int32_t>& ids, const std::vector<int64_t>& counts,
                            const MediaTokens& tokens) {
  ExpandedPrompt out;
  size_t item = 0;
  for (int32_t id : ids) {
    const bool image = id == tokens.image && id >= 0, audio = id == tokens.audio && id >= 0;
    check(!(id == tokens.video && id >= 0), "video input is not supported yet", ExitCode::unsupported);
    if (!image && !audio) {
      out.ids.push_back(id);
      continue;
    }
    check(item < counts.size(), "the prompt has more media placeholders than media items (" +
                                    std::to_string(counts.size()) + "); text must not contain <|image|>/<|audio|>");
    const int64_t n = counts[item++];
    check(n >= 0 && n <= (int64_t{1} << 24), "media soft-token count out of range: " + std::to_string(n));
    int32_t begin = image ? tokens.image_begin : tokens.audio_begin, end = image ? tokens.image_end : tokens.audio_end;
    check(begin >= 0 && end >= 0, "the tokenizer lacks the media begin/end tokens", ExitCode::unsupported);
    out.ids.push_back(begin);
    out.runs.push_back({image ? MediaKind::image : MediaKind::audio, static_cast<int64_t>(out.ids.size()), n});
    out.ids.insert(out.ids.end(), static_cast<size_t>(n), id);
    out.ids.push_back(end);
  }
  check(item == counts.size(), "the prompt has " + std::to_string(item) + " media placeholders but " +
                                   std::to_string(counts.size()) + " media items were given");
  return out;
}

}  // namespace gemma4
