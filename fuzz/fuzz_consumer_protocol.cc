// libFuzzer target for the consumer protocol (client/consumer_protocol.h): the subscription bytes
// every member puts in its JoinGroup metadata, which the group leader decodes, and the assignment
// bytes the leader sends through SyncGroup, which every member decodes. Both come from another
// client through the broker, which forwards them unread: untrusted input.
//
// Input: byte 0 picks the decoder (bit 0 clear: DecodeSubscription, set: DecodeAssignment), the
// rest is the bytes. A decode that succeeds must give what the header promises (topics and
// partitions sorted, without duplicates, named, partitions >= 0), and encoding the result again
// must decode to the same value.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "client/consumer_protocol.h"
#include "fuzz/walk.h"

namespace strata::fuzz {
namespace {

void CheckPartitions(const std::vector<client::TopicPartition>& partitions) {
  for (size_t i = 0; i < partitions.size(); ++i) {
    if (partitions[i].topic.empty() || partitions[i].partition < 0) std::abort();
    if (i > 0 && !(partitions[i - 1] < partitions[i])) std::abort();  // sorted, no duplicates
  }
}

uint64_t WalkPartitions(const std::vector<client::TopicPartition>& partitions) {
  uint64_t h = partitions.size();
  for (const auto& tp : partitions) h = Mix(Mix(h, WalkBytes(tp.topic)), uint64_t(tp.partition));
  return h;
}

void Subscription(std::span<const std::byte> bytes) {
  auto s = client::DecodeSubscription(bytes);
  if (!s.ok()) return;
  for (size_t i = 0; i < s->topics.size(); ++i) {
    if (s->topics[i].empty()) std::abort();
    if (i > 0 && !(s->topics[i - 1] < s->topics[i])) std::abort();
  }
  CheckPartitions(s->owned_partitions);
  // What the decoder does not fill in stays at its default.
  if (!s->member_id.empty() || s->group_instance_id.has_value()) std::abort();
  uint64_t h = Mix(WalkPartitions(s->owned_partitions), WalkBytes(s->user_data));
  for (const auto& t : s->topics) h = Mix(h, WalkBytes(t));
  Sink(Mix(h, uint64_t(s->generation)));

  const std::vector<std::byte> again = client::EncodeSubscription(*s);
  auto back = client::DecodeSubscription(again);
  if (!back.ok() || back->topics != s->topics || back->owned_partitions != s->owned_partitions ||
      back->generation != s->generation || back->user_data != s->user_data) {
    std::abort();
  }
}

void Assignment(std::span<const std::byte> bytes) {
  auto a = client::DecodeAssignment(bytes);
  if (!a.ok()) return;
  CheckPartitions(a->partitions);
  Sink(Mix(WalkPartitions(a->partitions), WalkBytes(a->user_data)));

  const std::vector<std::byte> again = client::EncodeAssignment(*a);
  auto back = client::DecodeAssignment(again);
  if (!back.ok() || *back != *a) std::abort();
}

}  // namespace
}  // namespace strata::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The bytes in their own allocation, their exact size, so ASan sees any read past them, and
  // aligned as the client's are (a std::string copy of the field, or the field itself inside a
  // DescribeGroups response).
  const std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(data) + 1,
                                     reinterpret_cast<const std::byte*>(data) + size);
  if ((data[0] & 1) == 0) {
    strata::fuzz::Subscription(bytes);
  } else {
    strata::fuzz::Assignment(bytes);
  }
  return 0;
}
