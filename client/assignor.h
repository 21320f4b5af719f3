// Partition assignors for consumer groups. In the classic group protocol the broker does not
// assign partitions: the group leader, a client, runs an Assignor over every member's
// subscription and sends each member its share in SyncGroup (docs/consumer-groups.md).
//
//   range               per topic, contiguous ranges among the members subscribed to it
//   roundrobin          every subscribed partition dealt in turn to the members
//   cooperative-sticky  balanced, keeps owned partitions in place, and never hands a partition to
//                       a new member in the same rebalance in which its owner still holds it
//
// Members are ordered by group_instance_id (static members first, by instance id), then by
// member_id; every tie-break follows that order, so an assignment depends only on the set of
// members, not on the order they arrive in, and a static member keeps its slot across restarts.
// Member ids are expected to be unique (the coordinator guarantees it); of two members with one
// id, only the first in that order is assigned anything.
//
// Assignors hold no state: Assign is const and safe to call from any number of threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/types.h"

namespace strata::client {

// Eager: every member gives up all its partitions before the assignment (stop the world).
// Cooperative: members keep what they own and give up only what the assignment takes away.
enum class RebalanceProtocol { kEager, kCooperative };

struct MemberSubscription {
  std::string member_id;
  std::optional<std::string> group_instance_id;  // static membership
  std::vector<std::string> topics;               // subscribed topics
  std::vector<TopicPartition> owned_partitions;  // what the member owns now
  int32_t generation = -1;                       // generation in which it got owned_partitions
  std::string user_data;
};

// member id -> its partitions (sorted). Every member of the input appears, possibly with none.
using GroupAssignment = std::map<std::string, std::vector<TopicPartition>>;

class Assignor {
 public:
  virtual ~Assignor() = default;
  virtual std::string_view name() const = 0;       // "range", "roundrobin", "cooperative-sticky"
  virtual RebalanceProtocol protocol() const = 0;  // kCooperative only for cooperative-sticky
  // partitions_per_topic: partition count of every topic any member subscribes to (topics that
  // do not exist are absent and get no assignment).
  virtual GroupAssignment Assign(const std::map<std::string, int32_t>& partitions_per_topic,
                                 const std::vector<MemberSubscription>& members) const = 0;
};

// nullptr for an unknown name.
std::unique_ptr<Assignor> MakeAssignor(std::string_view name);
// Every name MakeAssignor knows, in the order a consumer offers them by default.
std::vector<std::string> AssignorNames();

// The order every assignor gives members: static members (by group_instance_id) before dynamic
// ones (by member_id); ties by member_id.
bool MemberOrderLess(const MemberSubscription& a, const MemberSubscription& b);

// `members` in MemberOrderLess order, without later duplicates of a member id.
std::vector<const MemberSubscription*> SortedMembers(
    const std::vector<MemberSubscription>& members);

}  // namespace strata::client
