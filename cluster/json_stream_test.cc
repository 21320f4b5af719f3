#include "cluster/json_stream.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace strata::cluster {
namespace {

// Every object Next returns after the bytes so far, until it asks for more.
std::vector<std::string> Drain(JsonObjectStream& stream) {
  std::vector<std::string> out;
  while (true) {
    absl::StatusOr<std::string> next = stream.Next();
    REQUIRE(next.ok());
    if (next->empty()) return out;
    out.push_back(*next);
  }
}

// Objects with what makes the scan hard: braces and brackets inside strings, escaped quotes and
// backslashes (one right before a closing quote), nesting, empty objects.
const std::vector<std::string> kObjects = {
    R"({"result":{"header":{"revision":"4"},"created":true}})",
    R"({"a":"}{][","b":"quote \" inside","c":"backslash \\","d":"\\\"}"})",
    R"({"events":[{"kv":{"key":"Zm9v"}},{"type":"DELETE","kv":{}}],"e":[[],{}]})",
    R"({})",
};

TEST_CASE("JsonObjectStream: objects split at every byte boundary") {
  std::string all;
  for (const std::string& o : kObjects) all += o + "\n";
  all += "  \r\n\t";  // trailing whitespace is not an object
  // Two chunks, cut at every position; then one byte at a time.
  for (size_t cut = 0; cut <= all.size(); ++cut) {
    JsonObjectStream stream(1 << 20);
    stream.Append(std::string_view(all).substr(0, cut));
    std::vector<std::string> got = Drain(stream);
    stream.Append(std::string_view(all).substr(cut));
    for (std::string& o : Drain(stream)) got.push_back(std::move(o));
    INFO("cut at " << cut);
    CHECK(got == kObjects);
  }
  JsonObjectStream stream(1 << 20);
  std::vector<std::string> got;
  for (char c : all) {
    stream.Append(std::string_view(&c, 1));
    for (std::string& o : Drain(stream)) got.push_back(std::move(o));
  }
  CHECK(got == kObjects);
}

TEST_CASE("JsonObjectStream: back-to-back objects without whitespace") {
  JsonObjectStream stream(1 << 20);
  stream.Append(R"({"a":1}{"b":2}{"c")");
  CHECK(Drain(stream) == std::vector<std::string>{R"({"a":1})", R"({"b":2})"});
  stream.Append(R"(:3})");
  CHECK(Drain(stream) == std::vector<std::string>{R"({"c":3})"});
}

TEST_CASE("JsonObjectStream: bytes between objects that are not whitespace") {
  JsonObjectStream stream(1 << 20);
  stream.Append(R"({"a":1} x{"b":2})");
  absl::StatusOr<std::string> first = stream.Next();
  REQUIRE(first.ok());
  CHECK(*first == R"({"a":1})");
  CHECK(stream.Next().status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("JsonObjectStream: an object over the limit") {
  JsonObjectStream stream(16);
  stream.Append(R"({"short":1})");
  absl::StatusOr<std::string> first = stream.Next();
  REQUIRE(first.ok());
  CHECK(*first == R"({"short":1})");
  stream.Append(R"({"long":"0123456789)");
  CHECK(stream.Next().status().code() == absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace strata::cluster
