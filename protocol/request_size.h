// Requests that refer to the same bytes more than once.
//
// FlatBuffers lets many entries point at one table, string or vector: a 1 MiB LeaveGroup can name
// one 1 MiB member id 4,000 times, a Produce can send one 16 MiB batch to a partition 100,000
// times. Verification accepts that (every reference lies inside the buffer), but a handler reading
// entry by entry would copy, append or echo gigabytes. No client of ours shares entries, so
// VerifyRequest refuses any body whose fields, counted as they are read, add up to more bytes than
// the body has: an honest body is at least as large as the strings, vectors and tables it holds.
//
// ReadBytes(table) is that count, a lower bound of the bytes the table's entries occupy in an
// unshared buffer (4 bytes per table and offset, a string's length prefix, bytes and terminator, a
// vector's length prefix and elements). Vtables are not counted: builders share them by design.
// Scalars and structs stored inline in a table are not counted either (the table's 4 stand for
// them). The count is not written per table: one walk, driven by the binary schema compiled from
// protocol/schemas (binary_schema.h), follows every string, vector and table field of any table,
// so a field added to a schema is counted without code here. No schema uses a union; the walk
// refuses (aborts on) a schema that adds one until it is taught to count it.
//
// Plain functions over verified tables; safe from any thread.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <cstdint>
#include <span>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "protocol/binary_schema.h"
#include "protocol/message.h"

namespace strata::protocol {

// ReadBytes of `table`, a verified table of type BinarySchema().objects()->Get(object_index).
// Saturates far above any body size.
uint64_t ReadBytes(const flatbuffers::Table& table, int object_index);

// ReadBytes of a verified table of any generated type of protocol/schemas.
template <typename Table>
uint64_t ReadBytes(const Table* table) {
  static const int object_index = SchemaObjectIndex(Table::GetFullyQualifiedName());
  // Generated tables derive privately from flatbuffers::Table and add no members; this is how
  // FlatBuffers' own reflection reads them.
  return ReadBytes(*reinterpret_cast<const flatbuffers::Table*>(table), object_index);
}

// VerifyBody, then the rule above: InvalidArgument when ReadBytes exceeds the body's size.
template <typename Table>
absl::StatusOr<const Table*> VerifyRequest(std::span<const std::byte> body, const char* what) {
  STRATA_ASSIGN_OR_RETURN(const Table* table, VerifyBody<Table>(body, what));
  const uint64_t read = ReadBytes(table);
  if (read > body.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " refers to the same bytes more than once (its entries add up to ", read,
        " bytes in a body of ", body.size(), "); send each entry as its own bytes"));
  }
  return table;
}

}  // namespace strata::protocol
