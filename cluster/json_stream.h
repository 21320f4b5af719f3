// JsonObjectStream: cuts a byte stream of concatenated JSON objects (what etcd's gateway sends on
// a watch: `{"result":{...}}` one after another, possibly separated by whitespace) into whole
// top-level objects. Bytes arrive in chunks whose boundaries have nothing to do with the objects',
// so a chunk may end inside an object, inside a string, or right after a backslash.
//
// It only finds where each object ends (braces and brackets outside strings, strings with their
// escapes); it does not check that the object is valid JSON, which the parser that reads the
// object does. Not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace strata::cluster {

class JsonObjectStream {
 public:
  // An object longer than `object_bytes_max` is an error rather than a buffer that keeps growing.
  explicit JsonObjectStream(size_t object_bytes_max) : object_bytes_max_(object_bytes_max) {}

  void Append(std::string_view bytes) { buffer_.append(bytes); }

  // The next whole object, or "" when the bytes so far end before one does (an object is never
  // empty). DataLoss when something other than whitespace stands between objects,
  // ResourceExhausted when an object outgrows the limit; the stream is useless after either.
  absl::StatusOr<std::string> Next();

 private:
  const size_t object_bytes_max_;
  std::string buffer_;  // from the start of the current object (or of unread whitespace)
  // The scan's state at buffer_[scanned_]: everything before it has been looked at.
  size_t scanned_ = 0;
  int depth_ = 0;  // open braces and brackets; 0 between objects
  bool in_string_ = false;
  bool escaped_ = false;  // the previous byte was a backslash inside a string
};

}  // namespace strata::cluster
