#include "io/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

namespace gemma4::http {
namespace {

constexpr size_t kMaxErrorBody = 4096;

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};

struct Transfer {
  Result result;
  const Streaming* streaming = nullptr;
  CURL* curl = nullptr;
  bool aborted = false;
};

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// Keeps only the headers of the latest response (redirects start a new header block).
size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    t->result.headers.clear();
  } else if (auto colon = line.find(':'); colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    t->result.headers[name] = trim(line.substr(colon + 1));
  }
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300 && t->streaming && t->streaming->on_data) {
    if (!t->streaming->on_data(data, n, status)) {
      t->aborted = true;
      return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
  } else if (t->result.body.size() < kMaxErrorBody) {
    t->result.body.append(data, std::min(n, kMaxErrorBody - t->result.body.size()));
  }
  return n;
}

int on_progress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->streaming && t->streaming->on_progress)
    t->streaming->on_progress(static_cast<uint64_t>(dlnow), static_cast<uint64_t>(dltotal));
  return 0;
}

Result perform(const std::string& url, const std::vector<std::string>& extra_headers, bool head_only,
               uint64_t range_start, const Streaming* streaming) {
  global_init_once();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  Transfer t;
  t.streaming = streaming;
  t.curl = curl.get();
  if (!curl) {
    t.result.transport_error = CURLE_FAILED_INIT;
    t.result.transport_message = "could not initialise libcurl";
    return t.result;
  }
  curl_slist* list = nullptr;
  for (const auto& h : extra_headers) list = curl_slist_append(list, h.c_str());
  std::unique_ptr<curl_slist, CurlDeleter> headers(list);
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "gemma4/0.1");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
  // A stalled transfer (under 1 byte/s for a minute) fails instead of hanging forever.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (head_only) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    // Keeps "Authorization" on the same host only (curl's default), like the hub client does.
    // CURLOPT_RANGE, not RESUME_FROM: curl then hands over a 200 reply (a server ignoring the
    // range) instead of failing, and the caller restarts the file.
    std::string range = std::to_string(range_start) + "-";
    if (range_start > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  }
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.result.status);
  char* effective = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
  if (effective) t.result.effective_url = effective;
  if (rc != CURLE_OK) {
    t.result.transport_error = static_cast<int>(rc);
    t.result.transport_message = t.aborted ? "download aborted" : curl_easy_strerror(rc);
  }
  return t.result;
}

}  // namespace

std::string Result::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

Result head(const std::string& url, const std::vector<std::string>& extra_headers) {
  return perform(url, extra_headers, true, 0, nullptr);
}

Result get(const std::string& url, const std::vector<std::string>& extra_headers, uint64_t range_start,
           const Streaming& streaming) {
  return perform(url, extra_headers, false, range_start, &streaming);
}

std::string escape(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

}  // namespace gemma4::http
