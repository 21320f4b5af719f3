// The protocol's FlatBuffers schemas (protocol/schemas/*.fbs) as one binary schema: flatc
// serializes them at build time (reflection.fbs, "bfbs") and protocol/CMakeLists.txt compiles the
// bytes into this library, so code can walk any table of the protocol by its schema instead of by
// hand (request_size.cc). The schema always matches the generated headers: both come from the same
// .fbs files in the same build.
//
// The schema is immutable and verified once, on first use; safe from any thread.
#pragma once

#include <flatbuffers/reflection_generated.h>

namespace strata::protocol {

// Every table, struct and enum of protocol/schemas. Aborts on first use if the embedded bytes do
// not verify as a schema (a broken build, not a runtime condition).
const reflection::Schema& BinarySchema();

// The index in BinarySchema().objects() of the table or struct named `fully_qualified_name`
// (e.g. "strata.protocol.fb.ProduceRequest", as Table::GetFullyQualifiedName() returns it).
// Aborts if there is none: the generated headers and the schema come from the same .fbs files.
int SchemaObjectIndex(const char* fully_qualified_name);

}  // namespace strata::protocol
