// Text helpers of the `strata` broker commands: parsing their arguments (--from, --acks,
// --compression, key=value) and formatting consumed records as text or JSON lines.
//
// Pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "client/consumer.h"
#include "common/status.h"
#include "record/batch.h"

namespace strata::cli {

// A JSON string literal (with the quotes) for arbitrary bytes. Valid UTF-8 is kept as is, except
// that '"', '\' and control characters are escaped (\n, \t, \u001b, ...). A byte that is not part
// of a valid UTF-8 sequence is written as \u00XX (its Latin-1 reading), so the output is always
// valid JSON; such a value does not round-trip byte for byte.
std::string JsonString(std::string_view bytes);

// One JSON object on one line (no newline):
// {"topic":..,"partition":..,"offset":..,"timestamp":..,"key":..|null,
//  "headers":[{"key":..,"value":..|null},..],"value":..|null}
std::string FormatRecordJson(const client::ConsumerRecord& record);

// The value, or "<key>\t<value>" with `print_key`; a null key or value prints as "null".
std::string FormatRecordText(const client::ConsumerRecord& record, bool print_key);

// --from: "earliest", "latest", an offset ("1200") or "@<timestamp ms>" ("@1700000000000").
// InvalidArgument with the accepted forms otherwise (the caller names the flag).
absl::StatusOr<client::SeekTarget> ParseFrom(std::string_view text);

// --acks: "0", "1", "all" or "-1" -> 0, 1, -1.
absl::StatusOr<int> ParseAcks(std::string_view text);

// --compression: "none" or "lz4".
absl::StatusOr<record::Compression> ParseCompression(std::string_view text);

// "key=value" (the first '=' splits; the value may be empty). `what` names the flag in errors.
absl::StatusOr<std::pair<std::string, std::string>> ParseKeyValue(std::string_view text,
                                                                  std::string_view what);

}  // namespace strata::cli
