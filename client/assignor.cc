// The range and roundrobin assignors, member ordering, and the assignor registry.
// cooperative-sticky lives in sticky_assignor.cc.
#include "client/assignor.h"

#include <algorithm>
#include <set>

#include "client/sticky_assignor.h"

namespace strata::client {

bool MemberOrderLess(const MemberSubscription& a, const MemberSubscription& b) {
  // Static members first: their instance ids are stable across restarts, while a dynamic
  // member's id is new every time it joins and must not push a static member out of its slot.
  const bool a_static = a.group_instance_id.has_value();
  const bool b_static = b.group_instance_id.has_value();
  if (a_static != b_static) return a_static;
  if (a_static && *a.group_instance_id != *b.group_instance_id) {
    return *a.group_instance_id < *b.group_instance_id;
  }
  return a.member_id < b.member_id;
}

std::vector<const MemberSubscription*> SortedMembers(
    const std::vector<MemberSubscription>& members) {
  std::vector<const MemberSubscription*> sorted;
  sorted.reserve(members.size());
  for (const MemberSubscription& m : members) sorted.push_back(&m);
  // Stable, so that of two entries equal in every ordering field the first in the input is kept.
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const MemberSubscription* a, const MemberSubscription* b) {
                     return MemberOrderLess(*a, *b);
                   });
  std::set<std::string_view> seen;
  std::erase_if(sorted,
                [&](const MemberSubscription* m) { return !seen.insert(m->member_id).second; });
  return sorted;
}

namespace {

GroupAssignment EmptyAssignment(const std::vector<MemberSubscription>& members) {
  GroupAssignment out;
  for (const MemberSubscription& m : members) out[m.member_id];
  return out;
}

int32_t PartitionCount(const std::map<std::string, int32_t>& partitions_per_topic,
                       const std::string& topic) {
  auto it = partitions_per_topic.find(topic);
  return it == partitions_per_topic.end() ? 0 : std::max<int32_t>(it->second, 0);
}

class RangeAssignor final : public Assignor {
 public:
  std::string_view name() const override { return "range"; }
  RebalanceProtocol protocol() const override { return RebalanceProtocol::kEager; }

  GroupAssignment Assign(const std::map<std::string, int32_t>& partitions_per_topic,
                         const std::vector<MemberSubscription>& members) const override {
    GroupAssignment out = EmptyAssignment(members);
    // topic -> its subscribers, in member order.
    std::map<std::string, std::vector<const MemberSubscription*>> subscribers;
    for (const MemberSubscription* m : SortedMembers(members)) {
      for (const std::string& topic : std::set<std::string>(m->topics.begin(), m->topics.end())) {
        subscribers[topic].push_back(m);
      }
    }
    for (const auto& [topic, subs] : subscribers) {
      const int32_t partitions = PartitionCount(partitions_per_topic, topic);
      const auto count = static_cast<int32_t>(subs.size());
      const int32_t each = partitions / count;
      const int32_t extra = partitions % count;  // the first `extra` members get one more
      for (int32_t i = 0; i < count; ++i) {
        const int32_t start = each * i + std::min(i, extra);
        const int32_t length = each + (i < extra ? 1 : 0);
        auto& dest = out[subs[i]->member_id];
        for (int32_t p = start; p < start + length; ++p) dest.push_back({topic, p});
      }
    }
    for (auto& [id, partitions] : out) std::sort(partitions.begin(), partitions.end());
    return out;
  }
};

class RoundRobinAssignor final : public Assignor {
 public:
  std::string_view name() const override { return "roundrobin"; }
  RebalanceProtocol protocol() const override { return RebalanceProtocol::kEager; }

  GroupAssignment Assign(const std::map<std::string, int32_t>& partitions_per_topic,
                         const std::vector<MemberSubscription>& members) const override {
    GroupAssignment out = EmptyAssignment(members);
    const std::vector<const MemberSubscription*> sorted = SortedMembers(members);
    std::vector<std::set<std::string>> subscribed;
    std::set<std::string> all_topics;
    for (const MemberSubscription* m : sorted) {
      subscribed.emplace_back(m->topics.begin(), m->topics.end());
      all_topics.insert(m->topics.begin(), m->topics.end());
    }
    // One cursor over the members for the whole deal (it does not restart per topic), so the
    // partitions of many small topics still spread over everyone.
    size_t next = 0;
    for (const std::string& topic : all_topics) {
      const int32_t partitions = PartitionCount(partitions_per_topic, topic);
      for (int32_t p = 0; p < partitions; ++p) {
        // Some member subscribes to `topic` (it is in all_topics), so this stops.
        while (!subscribed[next].contains(topic)) next = (next + 1) % sorted.size();
        out[sorted[next]->member_id].push_back({topic, p});
        next = (next + 1) % sorted.size();
      }
    }
    // Dealt in (topic, partition) order, so every list is already sorted.
    return out;
  }
};

}  // namespace

std::unique_ptr<Assignor> MakeAssignor(std::string_view name) {
  if (name == "range") return std::make_unique<RangeAssignor>();
  if (name == "roundrobin") return std::make_unique<RoundRobinAssignor>();
  if (name == "cooperative-sticky") return std::make_unique<CooperativeStickyAssignor>();
  return nullptr;
}

std::vector<std::string> AssignorNames() { return {"range", "roundrobin", "cooperative-sticky"}; }

}  // namespace strata::client
