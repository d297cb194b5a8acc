#include "server/chat_request.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

#include "server/api_error.h"
#include "server/base64.h"

namespace gemma4::server {
namespace {

using json = nlohmann::json;

// A field that is present and not null (OpenAI clients send explicit nulls for "unset").
const json* field(const json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

std::string path_of(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

const std::string& require_string(const json& v, const std::string& param) {
  if (!v.is_string()) bad_request("'" + param + "' must be a string", param);
  return v.get_ref<const std::string&>();
}

bool require_bool(const json& v, const std::string& param) {
  if (!v.is_boolean()) bad_request("'" + param + "' must be a boolean", param);
  return v.get<bool>();
}

int64_t require_integer(const json& v, const std::string& param) {
  if (v.is_number_integer()) return v.get<int64_t>();
  // JSON has one number type; accept 3.0 but not 3.5.
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d)) && d >= -9.2e18 && d <= 9.2e18)
      return static_cast<int64_t>(d);
  }
  bad_request("'" + param + "' must be an integer", param);
}

double require_number(const json& v, const std::string& param, double lo, double hi) {
  if (!v.is_number()) bad_request("'" + param + "' must be a number", param);
  double d = v.get<double>();
  if (!(d >= lo && d <= hi))
    bad_request("'" + param + "' must be between " + json(lo).dump() + " and " + json(hi).dump(), param);
  return d;
}

const json& require_object(const json& v, const std::string& param) {
  if (!v.is_object()) bad_request("'" + param + "' must be an object", param);
  return v;
}

const json& require_array(const json& v, const std::string& param) {
  if (!v.is_array()) bad_request("'" + param + "' must be an array", param);
  return v;
}

// ---- media ----

std::string decode_base64_media(std::string_view text, const RequestLimits& limits, const std::string& param) {
  // Cheap guard before allocating: base64 is 4/3 the size, plus line breaks.
  if (text.size() / 2 > limits.max_media_bytes)
    throw ApiError(413, "'" + param + "' is larger than the " + std::to_string(limits.max_media_bytes >> 20) +
                            " MiB media limit", param, "media_too_large");
  auto bytes = base64_decode(text);
  if (!bytes) bad_request("'" + param + "' is not valid base64", param);
  if (bytes->size() > limits.max_media_bytes)
    throw ApiError(413, "'" + param + "' is larger than the " + std::to_string(limits.max_media_bytes >> 20) +
                            " MiB media limit", param, "media_too_large");
  if (bytes->empty()) bad_request("'" + param + "' is empty", param);
  return std::move(*bytes);
}

MediaItem image_from_data_url(const std::string& url, const RequestLimits& limits, const std::string& param) {
  // data:[<mime>][;base64],<data>
  auto comma = url.find(',');
  if (comma == std::string::npos) bad_request("'" + param + "' is not a valid data URL", param);
  std::string header = url.substr(5, comma - 5);
  const std::string suffix = ";base64";
  if (header.size() < suffix.size() || header.compare(header.size() - suffix.size(), suffix.size(), suffix) != 0)
    bad_request("'" + param + "' must be a base64 data URL (data:image/...;base64,...)", param);
  std::string mime = header.substr(0, header.size() - suffix.size());
  if (!mime.empty() && mime.rfind("image/", 0) != 0)
    bad_request("'" + param + "' has MIME type '" + mime + "', expected image/*", param);
  MediaItem item;
  item.kind = MediaItem::Kind::image;
  item.format = mime;
  item.bytes = decode_base64_media(std::string_view(url).substr(comma + 1), limits, param);
  return item;
}

MediaItem image_from_local_file(const std::string& url, const RequestLimits& limits, const std::string& param) {
  std::string path = url.rfind("file://", 0) == 0 ? url.substr(7) : url;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) bad_request("'" + param + "': no such file: " + path, param);
  auto size = std::filesystem::file_size(path, ec);
  if (ec) bad_request("'" + param + "': cannot read " + path, param);
  if (size > limits.max_media_bytes)
    throw ApiError(413, "'" + param + "': " + path + " is larger than the media limit", param, "media_too_large");
  std::ifstream in(path, std::ios::binary);
  MediaItem item;
  item.kind = MediaItem::Kind::image;
  item.bytes.resize(size);
  if (!in.read(item.bytes.data(), static_cast<std::streamsize>(size)))
    bad_request("'" + param + "': cannot read " + path, param);
  return item;
}

MediaItem parse_image_part(const json& part, const RequestLimits& limits, const std::string& param) {
  const json* image = field(part, "image_url");
  if (!image) bad_request("'" + param + ".image_url' is required", param + ".image_url");
  // {"url": ...} per OpenAI; a bare string is accepted too (some clients send it).
  std::string url_param = param + ".image_url";
  const json* url = image;
  if (image->is_object()) {
    url = field(*image, "url");
    url_param += ".url";
    if (!url) bad_request("'" + url_param + "' is required", url_param);
  }
  const std::string& s = require_string(*url, url_param);
  if (s.rfind("data:", 0) == 0) return image_from_data_url(s, limits, url_param);
  if (s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0)
    bad_request("remote image URLs are not fetched; send the image as a data URL (data:image/png;base64,...)",
                url_param);
  if (!limits.allow_local_files)
    bad_request("'" + url_param + "' must be a data URL; local files are refused unless the server runs with "
                "--allow-local-files", url_param);
  return image_from_local_file(s, limits, url_param);
}

MediaItem parse_audio_part(const json& part, const RequestLimits& limits, const std::string& param) {
  const json* audio = field(part, "input_audio");
  std::string p = param + ".input_audio";
  if (!audio) bad_request("'" + p + "' is required", p);
  require_object(*audio, p);
  const json* data = field(*audio, "data");
  const json* format = field(*audio, "format");
  if (!data) bad_request("'" + p + ".data' is required", p + ".data");
  if (!format) bad_request("'" + p + ".format' is required", p + ".format");
  static const std::set<std::string> kFormats = {"wav", "mp3", "flac", "ogg"};
  const std::string& fmt = require_string(*format, p + ".format");
  if (!kFormats.count(fmt)) bad_request("'" + p + ".format' must be one of wav, mp3, flac, ogg", p + ".format");
  MediaItem item;
  item.kind = MediaItem::Kind::audio;
  item.format = fmt;
  item.bytes = decode_base64_media(require_string(*data, p + ".data"), limits, p + ".data");
  return item;
}

// ---- messages ----

const std::set<std::string> kRoles = {"system", "developer", "user", "assistant", "tool"};

// Returns the content normalized (media payloads moved into `media`).
json parse_content(const json& content, const std::string& role, const RequestLimits& limits,
                   const std::string& param, std::vector<MediaItem>& media) {
  if (content.is_string()) return content;
  if (!content.is_array()) bad_request("'" + param + "' must be a string or an array of content parts", param);
  json parts = json::array();
  for (size_t i = 0; i < content.size(); ++i) {
    std::string pp = param + "[" + std::to_string(i) + "]";
    const json& part = require_object(content[i], pp);
    const json* type = field(part, "type");
    if (!type) bad_request("'" + pp + ".type' is required", pp + ".type");
    const std::string& t = require_string(*type, pp + ".type");
    if (t == "text") {
      const json* text = field(part, "text");
      if (!text) bad_request("'" + pp + ".text' is required", pp + ".text");
      parts.push_back({{"type", "text"}, {"text", require_string(*text, pp + ".text")}});
    } else if (t == "image_url" || t == "input_audio") {
      if (role != "user") bad_request("'" + pp + "': " + t + " parts are only allowed in user messages", pp + ".type");
      if (media.size() >= limits.max_media_items)
        bad_request("too many media items (at most " + std::to_string(limits.max_media_items) + ")", pp);
      media.push_back(t == "image_url" ? parse_image_part(part, limits, pp) : parse_audio_part(part, limits, pp));
      parts.push_back({{"type", t}, {"media_index", media.size() - 1}});
    } else {
      bad_request("'" + pp + ".type' must be text, image_url or input_audio (got '" + t + "')", pp + ".type");
    }
  }
  return parts;
}

// Assistant tool calls, arguments parsed from OpenAI's JSON string into an object.
json parse_tool_calls(const json& calls, const std::string& param) {
  require_array(calls, param);
  json out = json::array();
  for (size_t i = 0; i < calls.size(); ++i) {
    std::string p = param + "[" + std::to_string(i) + "]";
    const json& call = require_object(calls[i], p);
    json norm = {{"type", "function"}};
    if (const json* id = field(call, "id")) norm["id"] = require_string(*id, p + ".id");
    if (const json* type = field(call, "type"); type && require_string(*type, p + ".type") != "function")
      bad_request("'" + p + ".type' must be 'function'", p + ".type");
    const json* fn = field(call, "function");
    if (!fn) bad_request("'" + p + ".function' is required", p + ".function");
    require_object(*fn, p + ".function");
    const json* name = field(*fn, "name");
    if (!name) bad_request("'" + p + ".function.name' is required", p + ".function.name");
    json args = json::object();
    if (const json* a = field(*fn, "arguments")) {
      if (a->is_string()) {
        args = json::parse(a->get_ref<const std::string&>(), nullptr, false);
        if (args.is_discarded()) bad_request("'" + p + ".function.arguments' is not valid JSON", p + ".function.arguments");
      } else {
        args = *a;
      }
      if (!args.is_object())
        bad_request("'" + p + ".function.arguments' must be a JSON object", p + ".function.arguments");
    }
    norm["function"] = {{"name", require_string(*name, p + ".function.name")}, {"arguments", std::move(args)}};
    out.push_back(std::move(norm));
  }
  return out;
}

json parse_message(const json& msg, const RequestLimits& limits, const std::string& param,
                   std::vector<MediaItem>& media) {
  require_object(msg, param);
  const json* role_v = field(msg, "role");
  if (!role_v) bad_request("'" + param + ".role' is required", param + ".role");
  const std::string& role = require_string(*role_v, param + ".role");
  if (!kRoles.count(role))
    bad_request("'" + param + ".role' must be system, developer, user, assistant or tool (got '" + role + "')",
                param + ".role");
  json out = {{"role", role}};
  const json* content = field(msg, "content");
  const json* tool_calls = role == "assistant" ? field(msg, "tool_calls") : nullptr;
  if (content) {
    out["content"] = parse_content(*content, role, limits, param + ".content", media);
  } else if (!tool_calls) {
    bad_request("'" + param + ".content' is required", param + ".content");
  }
  if (tool_calls) out["tool_calls"] = parse_tool_calls(*tool_calls, param + ".tool_calls");
  if (const json* name = field(msg, "name")) out["name"] = require_string(*name, param + ".name");
  if (role == "assistant") {
    for (const char* key : {"reasoning_content", "reasoning"})
      if (const json* r = field(msg, key)) out["reasoning_content"] = require_string(*r, path_of(param, key));
  }
  if (role == "tool") {
    if (const json* id = field(msg, "tool_call_id")) out["tool_call_id"] = require_string(*id, param + ".tool_call_id");
  }
  return out;
}

// ---- tools ----

bool valid_function_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

json parse_tools(const json& tools) {
  require_array(tools, "tools");
  json out = json::array();
  for (size_t i = 0; i < tools.size(); ++i) {
    std::string p = "tools[" + std::to_string(i) + "]";
    const json& tool = require_object(tools[i], p);
    const json* type = field(tool, "type");
    if (!type || require_string(*type, p + ".type") != "function")
      bad_request("'" + p + ".type' must be 'function'", p + ".type");
    const json* fn = field(tool, "function");
    if (!fn) bad_request("'" + p + ".function' is required", p + ".function");
    require_object(*fn, p + ".function");
    const json* name = field(*fn, "name");
    if (!name) bad_request("'" + p + ".function.name' is required", p + ".function.name");
    if (!valid_function_name(require_string(*name, p + ".function.name")))
      bad_request("'" + p + ".function.name' must be 1-64 letters, digits, '_', '-' or '.'", p + ".function.name");
    if (const json* d = field(*fn, "description")) require_string(*d, p + ".function.description");
    if (const json* params = field(*fn, "parameters")) require_object(*params, p + ".function.parameters");
    out.push_back(tool);
  }
  return out;
}

std::string parse_tool_choice(const json& choice, const json& tools) {
  auto has_tool = [&](const std::string& name) {
    for (const auto& t : tools)
      if (t["function"]["name"] == name) return true;
    return false;
  };
  if (choice.is_string()) {
    const std::string& s = choice.get_ref<const std::string&>();
    if (s != "none" && s != "auto" && s != "required")
      bad_request("'tool_choice' must be none, auto, required or {\"type\":\"function\",...}", "tool_choice");
    if (s == "required" && tools.empty()) bad_request("'tool_choice' is 'required' but no tools were given", "tool_choice");
    return s;
  }
  require_object(choice, "tool_choice");
  const json* fn = field(choice, "function");
  const json* name = fn && fn->is_object() ? field(*fn, "name") : nullptr;
  if (!name) bad_request("'tool_choice.function.name' is required", "tool_choice.function.name");
  const std::string& n = require_string(*name, "tool_choice.function.name");
  if (!has_tool(n)) bad_request("'tool_choice' names '" + n + "', which is not in 'tools'", "tool_choice");
  return n;
}

// ---- options ----

bool parse_thinking(const json& body) {
  bool thinking = false;
  if (const json* effort = field(body, "reasoning_effort")) {
    static const std::set<std::string> kOff = {"none", "minimal"}, kOn = {"low", "medium", "high"};
    const std::string& e = require_string(*effort, "reasoning_effort");
    if (!kOff.count(e) && !kOn.count(e))
      bad_request("'reasoning_effort' must be none, minimal, low, medium or high", "reasoning_effort");
    thinking = kOn.count(e) > 0;  // Gemma 4 thinks or not; it has no effort levels
  }
  if (const json* kwargs = field(body, "chat_template_kwargs")) {
    require_object(*kwargs, "chat_template_kwargs");
    if (const json* t = field(*kwargs, "enable_thinking"))
      thinking = require_bool(*t, "chat_template_kwargs.enable_thinking");
  }
  return thinking;
}

std::vector<std::string> parse_stop(const json& stop, const RequestLimits& limits) {
  std::vector<std::string> out;
  if (stop.is_string()) {
    out.push_back(stop.get<std::string>());
  } else if (stop.is_array()) {
    for (size_t i = 0; i < stop.size(); ++i) out.push_back(require_string(stop[i], "stop[" + std::to_string(i) + "]"));
  } else {
    bad_request("'stop' must be a string or an array of strings", "stop");
  }
  if (out.size() > limits.max_stop_strings)
    bad_request("'stop' may hold at most " + std::to_string(limits.max_stop_strings) + " strings", "stop");
  for (const auto& s : out)
    if (s.empty()) bad_request("'stop' strings must not be empty", "stop");
  return out;
}

int64_t parse_max_tokens(const json& body, const RequestLimits& limits) {
  int64_t max_tokens = limits.default_max_tokens;
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {  // the newer name wins
    if (const json* v = field(body, key)) {
      max_tokens = require_integer(*v, key);
      if (max_tokens < 1) bad_request(std::string("'") + key + "' must be at least 1", key);
      if (max_tokens > limits.max_tokens_cap)
        bad_request(std::string("'") + key + "' must be at most " + std::to_string(limits.max_tokens_cap), key);
    }
  }
  return max_tokens;
}

SamplingParams parse_sampling(const json& body, const RequestLimits& limits) {
  SamplingParams s;
  if (const json* v = field(body, "temperature")) s.temperature = float(require_number(*v, "temperature", 0, 2));
  if (const json* v = field(body, "top_p")) {
    s.top_p = float(require_number(*v, "top_p", 0, 1));
    if (s.top_p <= 0) bad_request("'top_p' must be greater than 0", "top_p");
  }
  if (const json* v = field(body, "top_k")) {
    int64_t k = require_integer(*v, "top_k");
    if (k < -1 || k > (1 << 20)) bad_request("'top_k' must be -1 (off), 0 (off) or a positive count", "top_k");
    s.top_k = k < 0 ? 0 : static_cast<int>(k);
  }
  if (const json* v = field(body, "seed")) s.seed = static_cast<uint64_t>(require_integer(*v, "seed"));
  if (const json* v = field(body, "stop")) s.stop = parse_stop(*v, limits);
  s.max_tokens = parse_max_tokens(body, limits);
  return s;
}

// Options we do not implement: refuse rather than silently ignore when they would change output.
void reject_unsupported(const json& body) {
  if (const json* n = field(body, "n"); n && require_integer(*n, "n") != 1) bad_request("only 'n' = 1 is supported", "n");
  if (const json* lp = field(body, "logprobs"); lp && require_bool(*lp, "logprobs"))
    bad_request("'logprobs' is not supported", "logprobs");
  for (const char* key : {"frequency_penalty", "presence_penalty"})
    if (const json* v = field(body, key); v && require_number(*v, key, -2, 2) != 0)
      bad_request(std::string("'") + key + "' is not supported (only 0)", key);
  if (const json* rf = field(body, "response_format")) {
    const json* type = require_object(*rf, "response_format").is_object() ? field(*rf, "type") : nullptr;
    if (!type || require_string(*type, "response_format.type") != "text")
      bad_request("only 'response_format' {\"type\": \"text\"} is supported", "response_format");
  }
}

}  // namespace

ChatRequest parse_chat_request_json(const json& body, const RequestLimits& limits) {
  if (!body.is_object()) bad_request("the request body must be a JSON object");
  ChatRequest req;
  if (const json* model = field(body, "model")) req.model = require_string(*model, "model");
  const json* messages = field(body, "messages");
  if (!messages) bad_request("'messages' is required", "messages");
  require_array(*messages, "messages");
  if (messages->empty()) bad_request("'messages' must not be empty", "messages");
  if (messages->size() > limits.max_messages)
    bad_request("'messages' holds more than " + std::to_string(limits.max_messages) + " messages", "messages");
  for (size_t i = 0; i < messages->size(); ++i)
    req.messages.push_back(parse_message((*messages)[i], limits, "messages[" + std::to_string(i) + "]", req.media));
  if (const json* tools = field(body, "tools")) req.tools = parse_tools(*tools);
  if (const json* choice = field(body, "tool_choice")) req.tool_choice = parse_tool_choice(*choice, req.tools);
  if (const json* v = field(body, "parallel_tool_calls")) require_bool(*v, "parallel_tool_calls");
  req.enable_thinking = parse_thinking(body);
  req.sampling = parse_sampling(body, limits);
  reject_unsupported(body);
  if (const json* v = field(body, "stream")) req.stream = require_bool(*v, "stream");
  if (const json* opts = field(body, "stream_options")) {
    require_object(*opts, "stream_options");
    if (const json* u = field(*opts, "include_usage")) req.include_usage = require_bool(*u, "stream_options.include_usage");
  }
  return req;
}

// Deeply nested JSON costs recursion wherever it is later walked (dump, templates); no valid
// request nests more than a few dozen levels.
bool nesting_within(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}

ChatRequest parse_chat_request(std::string_view body, const RequestLimits& limits) {
  if (!nesting_within(body, 64)) bad_request("the request body nests JSON deeper than 64 levels");
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) bad_request("the request body is not valid JSON");
  return parse_chat_request_json(parsed, limits);
}

}  // namespace gemma4::server
