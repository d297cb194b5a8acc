#include "text/detokenizer.h"

#include "text/tokenizer.h"

namespace gemma4 {

std::string StreamingDetokenizer::push(int32_t id) {
  if (tok_.is_byte(id)) {
    pending_.push_back(static_cast<char>(tok_.byte_value(id)));
    return drain(false);
  }
  std::string out = drain(true);
  return out + tok_.decode({id});
}

std::string StreamingDetokenizer::finish() { return drain(true); }

std::string StreamingDetokenizer::drain(bool final) {
  std::string out;
  size_t pos = 0;
  while (pos < pending_.size()) {
    uint32_t cp;
    size_t len = utf8_sequence(pending_, pos, &cp);
    if (len > 0) {
      out.append(pending_, pos, len);
      pos += len;
      continue;
    }
    // Not a complete character here: wait for more bytes if it could still become one.
    unsigned char lead = static_cast<unsigned char>(pending_[pos]);
    size_t need = lead >= 0xF0 && lead <= 0xF4 ? 4 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xC2 && lead <= 0xDF ? 2 : 0;
    bool prefix_ok = need > 0 && pending_.size() - pos < need;
    for (size_t i = pos + 1; prefix_ok && i < pending_.size(); ++i)
      prefix_ok = (static_cast<unsigned char>(pending_[i]) & 0xC0) == 0x80;
    if (prefix_ok && !final) break;
    out += "\xEF\xBF\xBD";
    pos += 1;
  }
  pending_.erase(0, pos);
  return out;
}

}  // namespace gemma4
