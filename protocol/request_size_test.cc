// VerifyRequest (request_size.h): bodies whose entries share bytes are refused; bodies as our
// clients build them, one entry per copy, pass. The count is driven by the binary schema, so the
// tests below build a body for every request table from that same schema (Filler), with every
// field set, and fail when a request table of protocol/schemas is not in kRequests.
#include "protocol/request_size.h"

#include <flatbuffers/reflection.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "protocol/api.h"
#include "protocol/api_versions_generated.h"
#include "protocol/configs_generated.h"
#include "protocol/fetch_generated.h"
#include "protocol/groups_generated.h"
#include "protocol/init_producer_id_generated.h"
#include "protocol/list_offsets_generated.h"
#include "protocol/metadata_generated.h"
#include "protocol/offsets_generated.h"
#include "protocol/produce_generated.h"
#include "protocol/topics_generated.h"

namespace strata::protocol {
namespace {

std::vector<std::byte> Bytes(const flatbuffers::FlatBufferBuilder& b) {
  auto s = BuilderBytes(b);
  return {s.begin(), s.end()};
}

// Every request table the broker verifies with VerifyRequest. A request table added to a schema
// must be added here, or "every request table of the schema is tested" fails.
template <typename... Tables>
struct TypeList {};
using Requests = TypeList<
    fb::ApiVersionsRequest, fb::MetadataRequest, fb::CreateTopicsRequest, fb::DeleteTopicsRequest,
    fb::InitProducerIdRequest, fb::DescribeConfigsRequest, fb::AlterConfigsRequest,
    fb::ProduceRequest, fb::FetchRequest, fb::ListOffsetsRequest, fb::FindCoordinatorRequest,
    fb::JoinGroupRequest, fb::SyncGroupRequest, fb::HeartbeatRequest, fb::LeaveGroupRequest,
    fb::OffsetCommitRequest, fb::OffsetFetchRequest, fb::ListGroupsRequest,
    fb::DescribeGroupsRequest, fb::DeleteGroupsRequest, fb::DescribeClusterRequest>;

template <typename... Tables, typename F>
void ForEachRequest(TypeList<Tables...>, F f) {
  (f.template operator()<Tables>(), ...);
}

// Builds a body of any table of the binary schema with every field set: strings of
// `string_bytes`, byte vectors of `string_bytes`, other vectors of `copies` entries, nested tables
// filled the same way, scalars 1. It counts, as it builds, what a reader of the body counts
// (request_size.h): counted() is what ReadBytes must return. With `share`, every string, every
// vector of scalars of one element size and every table of one type is built once and referred
// to wherever one is needed, as a hostile client would; shared_references() says how often an
// entry was referred to again.
class Filler {
 public:
  Filler(flatbuffers::FlatBufferBuilder& b, size_t copies, size_t string_bytes, bool share)
      : b_(b), schema_(BinarySchema()), copies_(copies), string_bytes_(string_bytes),
        share_(share) {}

  flatbuffers::uoffset_t Root(int object) {
    const Built root = Table(object, 0);
    counted_ = 4 + root.counted;  // the root offset
    return root.offset;
  }
  uint64_t counted() const { return counted_; }
  uint64_t shared_references() const { return shared_references_; }

 private:
  struct Built {
    flatbuffers::uoffset_t offset;
    uint64_t counted;
  };

  // Returns the cached entry under `key` when sharing, else builds one with `make`.
  template <typename Make>
  Built Shared(const std::string& key, Make make) {
    if (!share_) return make();
    if (auto it = cache_.find(key); it != cache_.end()) {
      ++shared_references_;
      return it->second;
    }
    return cache_[key] = make();
  }

  Built String() {
    return Shared("string", [&] {
      return Built{b_.CreateString(std::string(string_bytes_, 's')).o, 4 + string_bytes_ + 1};
    });
  }

  Built Scalars(reflection::BaseType element) {
    const size_t size = flatbuffers::GetTypeSize(element);
    const size_t n = size == 1 ? string_bytes_ : copies_;
    return Shared("scalars" + std::to_string(size), [&] {
      uint8_t* bytes = nullptr;
      const flatbuffers::uoffset_t offset = b_.CreateUninitializedVector(n, size, &bytes);
      std::memset(bytes, 1, n * size);
      return Built{offset, 4 + n * size};
    });
  }

  Built Vector(const reflection::Field& field, int depth) {
    const reflection::Type& type = *field.type();
    std::vector<flatbuffers::Offset<void>> entries;
    uint64_t counted = 4 + 4 * uint64_t(copies_);
    for (size_t i = 0; i < copies_; ++i) {
      Built entry{};
      if (type.element() == reflection::String) {
        entry = String();
      } else if (type.element() == reflection::Obj &&
                 !schema_.objects()->Get(type.index())->is_struct()) {
        entry = Table(type.index(), depth + 1);
      } else {
        FAIL("Filler cannot build " << field.name()->str() << " (a vector of structs or unions); "
                                    << "extend it: the walker counts them already");
      }
      entries.emplace_back(entry.offset);
      counted += entry.counted;
    }
    return Built{b_.CreateVector(entries).o, counted};
  }

  Built Table(int object_index, int depth) {
    const reflection::Object& object = *schema_.objects()->Get(object_index);
    REQUIRE(depth < 8);  // our schemas do not recurse
    return Shared(object.name()->str(), [&] {
      uint64_t counted = 4;
      std::vector<std::pair<flatbuffers::voffset_t, flatbuffers::uoffset_t>> offsets;
      for (const reflection::Field* field : *object.fields()) {
        if (field->deprecated()) continue;
        const reflection::Type& type = *field->type();
        Built child{};
        switch (type.base_type()) {
          case reflection::String:
            child = String();
            break;
          case reflection::Vector:
            child = flatbuffers::IsScalar(type.element()) ? Scalars(type.element())
                                                         : Vector(*field, depth);
            break;
          case reflection::Obj:
            if (schema_.objects()->Get(type.index())->is_struct()) {
              FAIL("Filler cannot build the struct field " << field->name()->str());
            }
            child = Table(type.index(), depth + 1);
            break;
          case reflection::Union:
            FAIL("Filler cannot build the union field " << field->name()->str());
            break;
          default:
            continue;  // a scalar, set below
        }
        offsets.emplace_back(field->offset(), child.offset);
        counted += child.counted;
      }
      const flatbuffers::uoffset_t start = b_.StartTable();
      for (auto [slot, offset] : offsets) b_.AddOffset(slot, flatbuffers::Offset<void>(offset));
      for (const reflection::Field* field : *object.fields()) {
        if (field->deprecated() || !flatbuffers::IsScalar(field->type()->base_type())) continue;
        switch (flatbuffers::GetTypeSize(field->type()->base_type())) {
          case 1: b_.AddElement<uint8_t>(field->offset(), 1, 0); break;
          case 2: b_.AddElement<uint16_t>(field->offset(), 1, 0); break;
          case 4: b_.AddElement<uint32_t>(field->offset(), 1, 0); break;
          case 8: b_.AddElement<uint64_t>(field->offset(), 1, 0); break;
        }
      }
      return Built{b_.EndTable(start), counted};
    });
  }

  flatbuffers::FlatBufferBuilder& b_;
  const reflection::Schema& schema_;
  const size_t copies_;
  const size_t string_bytes_;
  const bool share_;
  std::map<std::string, Built> cache_;
  uint64_t counted_ = 0;
  uint64_t shared_references_ = 0;
};

bool IsRequestTable(const reflection::Object& object) {
  const std::string_view name = object.name()->string_view();
  return !object.is_struct() && name.starts_with("strata.protocol.fb.") &&
         name.ends_with("Request");
}

TEST_CASE("every request table of the schema is tested") {
  std::set<std::string> listed;
  ForEachRequest(Requests{}, [&]<typename T>() { listed.insert(T::GetFullyQualifiedName()); });
  std::set<std::string> in_schema;
  for (const reflection::Object* object : *BinarySchema().objects()) {
    if (!IsRequestTable(*object)) continue;
    in_schema.insert(object->name()->str());
    INFO(object->name()->str() << " is a request table of protocol/schemas; add it to Requests");
    CHECK(listed.count(object->name()->str()) == 1);
  }
  CHECK(listed == in_schema);
  // One request table per API (protocol/api.h).
  CHECK(in_schema.size() == kApiKeyCount);
}

TEST_CASE("every request, every field set, counts as its builder wrote it and fits its body") {
  ForEachRequest(Requests{}, [&]<typename T>() {
    const char* name = T::GetFullyQualifiedName();
    INFO(name);
    flatbuffers::FlatBufferBuilder b;
    Filler filler(b, /*copies=*/3, /*string_bytes=*/20, /*share=*/false);
    b.Finish(flatbuffers::Offset<void>(filler.Root(SchemaObjectIndex(name))));
    const auto body = Bytes(b);
    auto r = VerifyRequest<T>(body, name);
    REQUIRE(r.ok());
    const uint64_t read = ReadBytes(*r);
    CHECK(read == filler.counted());
    CHECK(read <= body.size());
    // A lower bound, but not a vacuous one: vtables and inline scalars are the rest.
    CHECK(read * 3 >= body.size());
  });
}

TEST_CASE("every request whose entries share bytes is refused") {
  int refused = 0;
  ForEachRequest(Requests{}, [&]<typename T>() {
    const char* name = T::GetFullyQualifiedName();
    INFO(name);
    flatbuffers::FlatBufferBuilder b;
    Filler filler(b, /*copies=*/100, /*string_bytes=*/4096, /*share=*/true);
    b.Finish(flatbuffers::Offset<void>(filler.Root(SchemaObjectIndex(name))));
    const auto body = Bytes(b);
    auto r = VerifyBody<T>(body, name);
    REQUIRE(r.ok());
    CHECK(ReadBytes(*r) == filler.counted());
    const auto checked = VerifyRequest<T>(body, name);
    // One 4 KiB string or byte vector referred to twice is more than a body that holds it once.
    if (filler.shared_references() > 0) {
      CHECK(absl::IsInvalidArgument(checked.status()));
      ++refused;
    } else {
      CHECK(checked.ok());  // nothing to share: InitProducerId, FindCoordinator
    }
  });
  CHECK(refused >= 15);
}

TEST_CASE("a body whose entries are their own bytes passes") {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::LeaveGroupMember>> members;
  for (int i = 0; i < 100; ++i) {
    members.push_back(fb::CreateLeaveGroupMember(b, b.CreateString(std::string(50, 'm')), 0,
                                                 b.CreateString("")));
  }
  b.Finish(fb::CreateLeaveGroupRequest(b, b.CreateString("g"), b.CreateVector(members)));
  const auto body = Bytes(b);
  auto r = VerifyRequest<fb::LeaveGroupRequest>(body, "LeaveGroupRequest");
  REQUIRE(r.ok());
  // The root offset and table (4 + 4), "g" (4 + 1 + 1), the members vector (4 + 4 * 100), each
  // member's table (4), 50-byte member id (4 + 50 + 1) and empty reason (4 + 0 + 1).
  CHECK(ReadBytes(*r) == 4 + 4 + 6 + 404 + 100 * (4 + 55 + 5));
  CHECK(ReadBytes(*r) <= body.size());

  flatbuffers::FlatBufferBuilder e;
  e.Finish(fb::CreateInitProducerIdRequest(e));
  CHECK(VerifyRequest<fb::InitProducerIdRequest>(Bytes(e), "InitProducerIdRequest").ok());
}

TEST_CASE("entries sharing one string, table or vector are refused") {
  {
    flatbuffers::FlatBufferBuilder b;
    auto shared = b.CreateString(std::string(1000, 't'));
    std::vector<flatbuffers::Offset<flatbuffers::String>> names(10, shared);
    b.Finish(fb::CreateMetadataRequest(b, b.CreateVector(names)));
    auto r = VerifyRequest<fb::MetadataRequest>(Bytes(b), "MetadataRequest");
    CHECK(absl::IsInvalidArgument(r.status()));
    CHECK(r.status().message().find("more than once") != std::string::npos);
  }
  {
    flatbuffers::FlatBufferBuilder b;
    std::vector<uint8_t> batch(4096, 1);
    auto records = b.CreateVector(batch);
    std::vector<flatbuffers::Offset<fb::PartitionProduceData>> parts;
    for (int i = 0; i < 3; ++i) parts.push_back(fb::CreatePartitionProduceData(b, 0, records));
    auto topics = b.CreateVector(
        {fb::CreateTopicProduceData(b, b.CreateString("t"), b.CreateVector(parts))});
    b.Finish(fb::CreateProduceRequest(b, 1, 1000, topics));
    CHECK(absl::IsInvalidArgument(
        VerifyRequest<fb::ProduceRequest>(Bytes(b), "ProduceRequest").status()));
  }
  {
    flatbuffers::FlatBufferBuilder b;
    auto topic = fb::CreateFetchTopic(b, b.CreateString(std::string(200, 'x')));
    std::vector<flatbuffers::Offset<fb::FetchTopic>> topics(5, topic);
    b.Finish(fb::CreateFetchRequest(b, 0, 1, 1 << 20, b.CreateVector(topics)));
    CHECK(absl::IsInvalidArgument(VerifyRequest<fb::FetchRequest>(Bytes(b), "FetchRequest").status()));
  }
}

// The case of the header comment at full scale: one 16 MiB batch produced to 100,000 partitions
// would be 1.6 TB appended; the body is about 18 MiB.
TEST_CASE("one 16 MiB batch referred to 100,000 times is refused") {
  flatbuffers::FlatBufferBuilder b;
  std::vector<uint8_t> batch(16 << 20, 1);
  auto records = b.CreateVector(batch);
  auto part = fb::CreatePartitionProduceData(b, 0, records);
  std::vector<flatbuffers::Offset<fb::PartitionProduceData>> parts(100'000, part);
  auto topics = b.CreateVector(
      {fb::CreateTopicProduceData(b, b.CreateString("t"), b.CreateVector(parts))});
  b.Finish(fb::CreateProduceRequest(b, 1, 1000, topics));
  const auto body = Bytes(b);
  auto r = VerifyBody<fb::ProduceRequest>(body, "ProduceRequest");
  REQUIRE(r.ok());
  CHECK(ReadBytes(*r) > 100'000ull * (16 << 20));
  CHECK(absl::IsInvalidArgument(
      VerifyRequest<fb::ProduceRequest>(body, "ProduceRequest").status()));
}

}  // namespace
}  // namespace strata::protocol
