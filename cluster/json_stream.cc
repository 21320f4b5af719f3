#include "cluster/json_stream.h"

#include "absl/strings/str_cat.h"

namespace strata::cluster {

absl::StatusOr<std::string> JsonObjectStream::Next() {
  while (scanned_ < buffer_.size()) {
    const char c = buffer_[scanned_];
    if (depth_ == 0) {
      if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
        // Whitespace between objects is dropped as it is seen, so buffer_ starts at an object.
        buffer_.erase(0, scanned_ + 1);
        scanned_ = 0;
        continue;
      }
      if (c != '{') {
        return absl::DataLossError(
            absl::StrCat("expected a JSON object, found byte ", static_cast<int>(c)));
      }
      depth_ = 1;
    } else if (in_string_) {
      if (escaped_) {
        escaped_ = false;
      } else if (c == '\\') {
        escaped_ = true;
      } else if (c == '"') {
        in_string_ = false;
      }
    } else if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      ++depth_;
    } else if (c == '}' || c == ']') {
      if (--depth_ == 0) {
        std::string object = buffer_.substr(0, scanned_ + 1);
        buffer_.erase(0, scanned_ + 1);
        scanned_ = 0;
        return object;
      }
    }
    ++scanned_;
  }
  if (buffer_.size() > object_bytes_max_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("a JSON object longer than ", object_bytes_max_, " bytes"));
  }
  return std::string();
}

}  // namespace strata::cluster
