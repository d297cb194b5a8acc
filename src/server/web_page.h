// The chat page `gemma4 serve` offers at / (src/server/webui/: index.html, app.js,
// chat_client.js), built into the binary so the server needs no files beside it.
#pragma once
#include <span>
#include <string_view>

namespace gemma4::server {

struct WebPageFile {
  std::string_view path;          // the URL path it is served at, e.g. "/app.js"
  std::string_view content_type;
  std::string_view body;
};

// The page's files.
std::span<const WebPageFile> web_page_files();
// The file served at `path`; nullptr for a path that is none of them.
const WebPageFile* find_web_page_file(std::string_view path);

}  // namespace gemma4::server
