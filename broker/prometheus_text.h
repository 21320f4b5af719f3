// Helpers for the Prometheus text exposition format (version 0.0.4) that /metrics serves.
#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace strata::broker {

// The "# HELP" and "# TYPE" lines of one metric family.
inline void Header(std::string& out, absl::string_view name, absl::string_view type,
                   absl::string_view help) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

// A label value with backslash, double quote and newline escaped.
inline std::string Label(absl::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace strata::broker
