#include "server/base64.h"

#include <array>
#include <cstdint>

namespace gemma4::server {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr int8_t kInvalid = -1, kSpace = -2, kPad = -3;

constexpr std::array<int8_t, 256> make_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = kInvalid;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  for (unsigned char c : {' ', '\t', '\n', '\r'}) t[c] = kSpace;
  t['='] = kPad;
  return t;
}
constexpr auto kTable = make_table();

}  // namespace

size_t base64_decoded_size_bound(std::string_view text) { return (text.size() + 3) / 4 * 3; }

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out;
  out.reserve(base64_decoded_size_bound(text));
  uint32_t acc = 0;
  int bits = 0;          // sextets accumulated in the current quantum (0..3)
  size_t pads = 0;       // '=' seen; only whitespace or more '=' may follow
  for (unsigned char c : text) {
    int8_t v = kTable[c];
    if (v == kSpace) continue;
    if (v == kInvalid) return std::nullopt;
    if (v == kPad) {
      ++pads;
      continue;
    }
    if (pads) return std::nullopt;  // data after padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    if (++bits == 4) {
      out.push_back(static_cast<char>(acc >> 16));
      out.push_back(static_cast<char>(acc >> 8));
      out.push_back(static_cast<char>(acc));
      acc = 0;
      bits = 0;
    }
  }
  // A trailing quantum of 2 or 3 sextets carries 1 or 2 bytes; 1 sextet is never valid.
  if (bits == 1) return std::nullopt;
  if (pads && (bits == 0 || static_cast<size_t>(bits) + pads != 4)) return std::nullopt;
  if (bits == 2) {
    if (acc & 0xF) return std::nullopt;  // non-canonical: unused bits must be zero
    out.push_back(static_cast<char>(acc >> 4));
  } else if (bits == 3) {
    if (acc & 0x3) return std::nullopt;
    out.push_back(static_cast<char>(acc >> 10));
    out.push_back(static_cast<char>(acc >> 2));
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest) {
    uint32_t v = uint8_t(bytes[i]) << 16;
    if (rest == 2) v |= uint8_t(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace gemma4::server
