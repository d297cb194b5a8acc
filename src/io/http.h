// A small blocking HTTP client over libcurl: HEAD for metadata, streamed GET for downloads.
// Transport failures are reported in the result (not thrown) so callers can say what to do.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace gemma4::http {

struct Result {
  int transport_error = 0;        // CURLcode; 0 when a response arrived
  std::string transport_message;  // curl's description of transport_error
  long status = 0;                // HTTP status of the last response
  std::map<std::string, std::string> headers;  // of the last response; names lower-case
  std::string body;               // error responses only (first few KB), for messages
  std::string effective_url;      // after redirects

  bool ok() const { return transport_error == 0 && status >= 200 && status < 300; }
  std::string header(const std::string& lower_name) const;
};

// HEAD without following redirects: the hub puts an LFS file's metadata on the redirect itself.
Result head(const std::string& url, const std::vector<std::string>& extra_headers);

// Streamed GET following redirects. When `range_start` > 0 asks for bytes from there on;
// the caller checks `status` (206 = resumed, 200 = the server sent the whole file).
// `on_data` receives the body of a 2xx response and returns false to abort;
// `on_progress` gets (bytes received in this request, bytes expected in it or 0).
struct Streaming {
  std::function<bool(const char* data, size_t size, long status)> on_data;
  std::function<void(uint64_t received, uint64_t expected)> on_progress;
};
Result get(const std::string& url, const std::vector<std::string>& extra_headers, uint64_t range_start,
           const Streaming& streaming);

// Percent-encodes everything but unreserved characters (a revision such as "refs/pr/1").
std::string escape(const std::string& text);

}  // namespace gemma4::http
