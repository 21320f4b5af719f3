// The cooperative-sticky assignor (Kafka's CooperativeStickyAssignor). It computes in two steps:
//
// 1. A *plan*: an assignment of every existing partition of every subscribed topic to one member
//    subscribed to its topic, balanced, and keeping as many owned partitions in place as it can.
//    Balanced means the sum of the squared partition counts is as small as the subscriptions
//    allow: no member can hand a partition, directly or along a chain of members each passing one
//    on, to a member with at least two fewer. For equal subscriptions counts differ by at most one.
// 2. The cooperative step: a partition the plan gives to someone other than its current owner is
//    *withheld* from this round. The owner sees it missing from its assignment and revokes it,
//    which triggers another rebalance; by then nobody owns it and the plan hands it over. So no
//    member starts consuming a partition its owner still holds, and the group settles in two
//    rounds.
//
// Ownership comes from each member's owned_partitions and generation. A partition's current
// owners are its claimants with the highest generation (a claim from an older generation is
// stale: its member was replaced while away). The plan keeps a partition with the first current
// owner, in member order, that still subscribes to its topic; claims of topics a member no longer
// subscribes to and of partitions that do not exist are dropped. The cooperative step withholds
// a partition from a member that is not among its current owners.
//
// Stateless; safe to call from any number of threads. Cost: each balancing move is a search over
// members and topics, O(members x topics) per distinct partition count; 1,000 members and 10,000
// partitions take milliseconds after ordinary churn, about a second if one member owned all.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "client/assignor.h"

namespace strata::client {

struct StickyPlan {
  GroupAssignment balanced;              // step 1: every member appears; lists sorted
  std::vector<TopicPartition> withheld;  // in `balanced` but not handed over this round; sorted
};

// Both steps, with the plan before the cooperative step (tests check each on its own).
StickyPlan PlanCooperativeSticky(const std::map<std::string, int32_t>& partitions_per_topic,
                                 const std::vector<MemberSubscription>& members);

class CooperativeStickyAssignor final : public Assignor {
 public:
  std::string_view name() const override { return "cooperative-sticky"; }
  RebalanceProtocol protocol() const override { return RebalanceProtocol::kCooperative; }
  // The plan without the withheld partitions.
  GroupAssignment Assign(const std::map<std::string, int32_t>& partitions_per_topic,
                         const std::vector<MemberSubscription>& members) const override;
};

}  // namespace strata::client
