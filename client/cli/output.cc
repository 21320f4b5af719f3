#include "client/cli/output.h"

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace strata::cli {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if the bytes there are not one
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  size_t len = 0;
  uint32_t cp = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return len;
}

void AppendUnicodeEscape(std::string& out, unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", c);
  out += buf;
}

std::string JsonOptional(const std::optional<std::string>& v) {
  return v ? JsonString(*v) : "null";
}

}  // namespace

std::string JsonString(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + 2);
  out += '"';
  for (size_t i = 0; i < bytes.size();) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20 || c == 0x7F) {
            AppendUnicodeEscape(out, c);
          } else {
            out += char(c);
          }
      }
      ++i;
      continue;
    }
    const size_t len = Utf8SequenceLength(bytes, i);
    if (len == 0) {
      AppendUnicodeEscape(out, c);
      ++i;
    } else {
      out.append(bytes.substr(i, len));
      i += len;
    }
  }
  out += '"';
  return out;
}

std::string FormatRecordJson(const client::ConsumerRecord& r) {
  std::string out = absl::StrCat("{\"topic\":", JsonString(r.topic), ",\"partition\":", r.partition,
                                 ",\"offset\":", r.offset, ",\"timestamp\":", r.timestamp_ms,
                                 ",\"key\":", JsonOptional(r.key), ",\"headers\":[");
  for (size_t i = 0; i < r.headers.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, "{\"key\":", JsonString(r.headers[i].key),
                    ",\"value\":", JsonOptional(r.headers[i].value), "}");
  }
  absl::StrAppend(&out, "],\"value\":", JsonOptional(r.value), "}");
  return out;
}

std::string FormatRecordText(const client::ConsumerRecord& r, bool print_key) {
  std::string out;
  if (print_key) {
    out = r.key.value_or("null");
    out += '\t';
  }
  out += r.value.value_or("null");
  return out;
}

absl::StatusOr<client::SeekTarget> ParseFrom(std::string_view text) {
  const auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("'", std::string(text),
                     "' is not one of: earliest, latest, an offset (e.g. 1200), or @ and a "
                     "timestamp in ms since the epoch (e.g. @1700000000000)"));
  };
  if (text == "earliest") return client::SeekTarget::Earliest();
  if (text == "latest") return client::SeekTarget::Latest();
  int64_t value = 0;
  if (!text.empty() && text.front() == '@') {
    if (!absl::SimpleAtoi(std::string(text.substr(1)), &value) || value < 0) return bad();
    return client::SeekTarget::Timestamp(value);
  }
  if (!absl::SimpleAtoi(std::string(text), &value) || value < 0) return bad();
  return client::SeekTarget::Offset(value);
}

absl::StatusOr<int> ParseAcks(std::string_view text) {
  if (text == "0") return 0;
  if (text == "1") return 1;
  if (text == "all" || text == "-1") return -1;
  return absl::InvalidArgumentError(absl::StrCat(
      "'", std::string(text),
      "' is not one of: 0 (no answer), 1 (after the append), all (durable)"));
}

absl::StatusOr<record::Compression> ParseCompression(std::string_view text) {
  if (text == "none") return record::Compression::kNone;
  if (text == "lz4") return record::Compression::kLz4;
  return absl::InvalidArgumentError(
      absl::StrCat("'", std::string(text), "' is not one of: none, lz4"));
}

absl::StatusOr<std::pair<std::string, std::string>> ParseKeyValue(std::string_view text,
                                                                  std::string_view what) {
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), " '", std::string(text),
                                                   "' is not KEY=VALUE"));
  }
  return std::pair<std::string, std::string>(std::string(text.substr(0, eq)),
                                             std::string(text.substr(eq + 1)));
}

}  // namespace strata::cli
