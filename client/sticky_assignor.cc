#include "client/sticky_assignor.h"

#include <algorithm>
#include <cassert>
#include <climits>
#include <deque>
#include <set>

namespace strata::client {
namespace {

// One planning run. Members and partitions are numbered: member i is the i-th in member order,
// partition p the p-th existing partition of the subscribed topics in (topic, partition) order,
// so every choice below that breaks ties by the lower number is deterministic.
//
// Balancing moves partitions along *chains*: member y hands a partition of topic t to x, who
// subscribes to t and hands one of its own partitions on, and so on; only the two ends change
// load. A chain from a member to one with at least two fewer partitions lowers the sum of squared
// loads, and when no such chain is left that sum is the least any assignment reaches (the loads
// are as even as the subscriptions allow). Direct moves alone can stop short of that, and then
// the next rebalance would find a better balance by moving owned partitions again. Of the chains,
// the one that moves the fewest owned partitions goes first; a partition its holder does not own
// (given to it in this run) moves for free. Because of that, a rebalance whose owned partitions
// all sit where an even assignment puts them (the round after revocations) moves none of them.
class Planner {
 public:
  Planner(const std::map<std::string, int32_t>& partitions_per_topic,
          const std::vector<MemberSubscription>& members);

  // The steps, in order.
  void KeepOwned();
  void AssignUnowned();
  void Balance();
  StickyPlan Result(const std::vector<MemberSubscription>& input) const;

 private:
  static constexpr int kUnreached = INT_MAX;

  int Topic(int p) const { return topic_of_[p]; }
  size_t Load(int member) const { return held_[member].size(); }
  bool Owns(int member, int p) const { return home_[p] == member; }
  void Place(int p, int member);
  void Take(int p);
  // The partition of `topic` that `from` should hand to `to`: best one `to` owns (it goes home),
  // then one `from` does not own, then any. -1 if `from` holds none of `topic`.
  int Pick(int from, int topic, int to) const;
  // Searches chains ending at a member with `level` partitions (0-1 BFS over members and topics,
  // backwards; a hop costs 1 when its holder owns every partition of the topic it could pass).
  // Returns the start of the cheapest chain from a member with at least level + 2 partitions, or
  // -1; its cost in *cost; the hops in via_topic_ / via_member_.
  int CheapestChainTo(size_t level, int* cost);
  void MoveAlong(int start);
  // Trades a partition back to the member that owns it for one the holder can take instead
  // (loads do not change); false when there is no such trade.
  bool SwapAll();

  std::vector<const MemberSubscription*> members_;
  std::vector<std::string> topics_;
  std::vector<int32_t> first_;                 // per topic: the number of its partition 0
  std::vector<int32_t> count_;                 // per topic: how many partitions it has
  std::vector<int> topic_of_;                  // per partition
  std::vector<std::vector<char>> subscribes_;  // [member][topic]
  std::vector<std::vector<int>> eligible_;     // per topic: its subscribers, ascending
  std::vector<std::vector<int>> owners_;       // per partition: its current owners, ascending
  std::vector<int> home_;  // per partition: the owner the plan keeps it with, or -1
  std::vector<std::vector<int>> homes_of_;  // per member: the partitions whose home it is
  std::vector<int> assigned_;        // per partition: the member holding it in the plan, or -1
  std::vector<std::set<int>> held_;  // per member
  std::vector<std::vector<int32_t>> held_count_;  // [member][topic]
  std::vector<std::vector<int32_t>> free_count_;  // [member][topic]: held but not owned
  // The chains found by the last CheapestChainTo: member -> the topic it passes a partition of,
  // topic -> the member that partition goes to. -1 at the end of a chain.
  std::vector<int> via_topic_;
  std::vector<int> via_member_;
};

Planner::Planner(const std::map<std::string, int32_t>& partitions_per_topic,
                 const std::vector<MemberSubscription>& members)
    : members_(SortedMembers(members)) {
  std::set<std::string> subscribed;
  for (const MemberSubscription* m : members_)
    subscribed.insert(m->topics.begin(), m->topics.end());
  std::map<std::string, int> topic_index;
  for (const std::string& topic : subscribed) {
    auto it = partitions_per_topic.find(topic);
    if (it == partitions_per_topic.end() || it->second <= 0) continue;
    topic_index[topic] = static_cast<int>(topics_.size());
    topics_.push_back(topic);
    first_.push_back(static_cast<int32_t>(topic_of_.size()));
    count_.push_back(it->second);
    topic_of_.insert(topic_of_.end(), it->second, static_cast<int>(topics_.size() - 1));
  }
  const size_t partitions = topic_of_.size();
  subscribes_.assign(members_.size(), std::vector<char>(topics_.size(), 0));
  eligible_.resize(topics_.size());
  for (size_t i = 0; i < members_.size(); ++i) {
    for (const std::string& topic : members_[i]->topics) {
      auto it = topic_index.find(topic);
      if (it == topic_index.end() || subscribes_[i][it->second]) continue;
      subscribes_[i][it->second] = 1;
      eligible_[it->second].push_back(static_cast<int>(i));
    }
  }
  for (auto& e : eligible_) std::sort(e.begin(), e.end());

  // Current owners: the claimants with the highest generation.
  std::vector<int32_t> owner_generation(partitions, INT32_MIN);
  owners_.resize(partitions);
  for (size_t i = 0; i < members_.size(); ++i) {
    std::set<int> claimed;
    for (const TopicPartition& tp : members_[i]->owned_partitions) {
      auto it = topic_index.find(tp.topic);
      if (it == topic_index.end()) continue;  // not subscribed by anyone, or gone
      const int t = it->second;
      if (tp.partition < 0 || tp.partition >= count_[t]) continue;  // does not exist
      claimed.insert(first_[t] + tp.partition);
    }
    const int32_t generation = members_[i]->generation;
    for (int p : claimed) {
      if (generation > owner_generation[p]) {
        owner_generation[p] = generation;
        owners_[p].clear();
      }
      if (generation == owner_generation[p]) owners_[p].push_back(static_cast<int>(i));
    }
  }
  home_.assign(partitions, -1);
  homes_of_.resize(members_.size());
  for (size_t p = 0; p < partitions; ++p) {
    for (int owner : owners_[p]) {
      if (!subscribes_[owner][Topic(static_cast<int>(p))]) continue;
      home_[p] = owner;
      homes_of_[owner].push_back(static_cast<int>(p));
      break;
    }
  }
  assigned_.assign(partitions, -1);
  held_.resize(members_.size());
  held_count_.assign(members_.size(), std::vector<int32_t>(topics_.size(), 0));
  free_count_.assign(members_.size(), std::vector<int32_t>(topics_.size(), 0));
}

void Planner::Place(int p, int member) {
  assert(assigned_[p] == -1);
  assert(subscribes_[member][Topic(p)]);
  assigned_[p] = member;
  held_[member].insert(p);
  ++held_count_[member][Topic(p)];
  if (!Owns(member, p)) ++free_count_[member][Topic(p)];
}

void Planner::Take(int p) {
  const int member = assigned_[p];
  assert(member != -1);
  held_[member].erase(p);
  --held_count_[member][Topic(p)];
  if (!Owns(member, p)) --free_count_[member][Topic(p)];
  assigned_[p] = -1;
}

void Planner::KeepOwned() {
  for (size_t p = 0; p < home_.size(); ++p) {
    if (home_[p] >= 0) Place(static_cast<int>(p), home_[p]);
  }
}

void Planner::AssignUnowned() {
  std::vector<int> unowned;
  for (size_t p = 0; p < assigned_.size(); ++p) {
    if (assigned_[p] == -1) unowned.push_back(static_cast<int>(p));
  }
  // The partitions with the fewest candidates first, while those candidates still have room;
  // partitions anyone can take fill in around them.
  std::stable_sort(unowned.begin(), unowned.end(), [&](int a, int b) {
    return eligible_[Topic(a)].size() < eligible_[Topic(b)].size();
  });
  for (int p : unowned) {
    const std::vector<int>& candidates = eligible_[Topic(p)];
    assert(!candidates.empty());  // topics_ holds only subscribed topics
    int best = candidates.front();
    for (int m : candidates) {
      if (Load(m) < Load(best)) best = m;
    }
    Place(p, best);
  }
}

int Planner::Pick(int from, int topic, int to) const {
  int best = -1;
  int best_rank = 3;
  for (auto it = held_[from].lower_bound(first_[topic]);
       it != held_[from].end() && *it < first_[topic] + count_[topic]; ++it) {
    const int rank = Owns(to, *it) ? 0 : !Owns(from, *it) ? 1 : 2;
    if (rank < best_rank) {
      best = *it;
      best_rank = rank;
    }
  }
  return best;
}

int Planner::CheapestChainTo(size_t level, int* cost) {
  const int members = static_cast<int>(members_.size());
  const int topics = static_cast<int>(topics_.size());
  std::vector<int> distance(members + topics, kUnreached);  // members, then topics
  via_topic_.assign(members, -1);
  via_member_.assign(topics, -1);
  std::deque<std::pair<int, int>> queue;  // (node, distance): 0-cost hops to the front
  for (int m = 0; m < members; ++m) {
    if (Load(m) != level) continue;
    distance[m] = 0;
    queue.emplace_back(m, 0);
  }
  while (!queue.empty()) {
    const auto [node, d] = queue.front();
    queue.pop_front();
    if (d > distance[node]) continue;  // reached more cheaply since
    if (node < members) {
      // Any topic `node` subscribes to can pass a partition to it, at no cost.
      for (int t = 0; t < topics; ++t) {
        if (!subscribes_[node][t] || distance[members + t] <= d) continue;
        distance[members + t] = d;
        via_member_[t] = node;
        queue.emplace_front(members + t, d);
      }
    } else {
      const int t = node - members;
      for (int m = 0; m < members; ++m) {
        if (held_count_[m][t] == 0) continue;
        const int step = free_count_[m][t] > 0 ? 0 : 1;
        if (distance[m] <= d + step) continue;
        distance[m] = d + step;
        via_topic_[m] = t;
        if (step == 0) {
          queue.emplace_front(m, d);
        } else {
          queue.emplace_back(m, d + 1);
        }
      }
    }
  }
  int start = -1;
  for (int m = 0; m < members; ++m) {
    if (Load(m) < level + 2 || distance[m] == kUnreached) continue;
    // The cheapest chain; of equal ones, the one from the most loaded member.
    if (start == -1 || distance[m] < distance[start] ||
        (distance[m] == distance[start] && Load(m) > Load(start))) {
      start = m;
    }
  }
  if (start != -1) *cost = distance[start];
  return start;
}

void Planner::MoveAlong(int start) {
  int from = start;
  while (via_topic_[from] != -1) {
    const int topic = via_topic_[from];
    const int to = via_member_[topic];
    const int p = Pick(from, topic, to);
    assert(p != -1);
    Take(p);
    Place(p, to);
    from = to;
  }
}

bool Planner::SwapAll() {
  bool swapped = false;
  for (size_t m = 0; m < members_.size(); ++m) {
    const int member = static_cast<int>(m);
    for (int p : homes_of_[m]) {
      const int holder = assigned_[p];
      if (holder == member) continue;
      // A partition `member` holds without owning it that `holder` can take instead: best one
      // `holder` owns, so both go home.
      int trade = -1;
      for (int q : held_[m]) {
        if (home_[q] == member || !subscribes_[holder][Topic(q)]) continue;
        if (trade == -1 || home_[q] == holder) trade = q;
        if (home_[q] == holder) break;
      }
      if (trade == -1) continue;
      Take(p);
      Take(trade);
      Place(p, member);
      Place(trade, holder);
      swapped = true;
    }
  }
  return swapped;
}

void Planner::Balance() {
  // Every chain lowers the sum of squared loads, so this ends.
  for (;;) {
    std::set<size_t> levels;
    size_t most = 0;
    for (size_t m = 0; m < members_.size(); ++m) {
      levels.insert(Load(static_cast<int>(m)));
      most = std::max(most, Load(static_cast<int>(m)));
    }
    int best_level = -1;
    int best_cost = kUnreached;
    for (size_t level : levels) {
      if (level + 2 > most) break;
      int cost = 0;
      if (CheapestChainTo(level, &cost) == -1 || cost >= best_cost) continue;
      best_level = static_cast<int>(level);
      best_cost = cost;
      if (cost == 0) break;
    }
    if (best_level == -1) break;
    int cost = 0;
    MoveAlong(CheapestChainTo(static_cast<size_t>(best_level), &cost));
  }
  // Trades keep every load, so the balance stays; each sends one more partition home.
  while (SwapAll()) {
  }
}

StickyPlan Planner::Result(const std::vector<MemberSubscription>& input) const {
  StickyPlan plan;
  for (const MemberSubscription& m : input) plan.balanced[m.member_id];
  for (size_t p = 0; p < assigned_.size(); ++p) {
    const int member = assigned_[p];
    assert(member >= 0);
    const int t = Topic(static_cast<int>(p));
    TopicPartition tp{topics_[t], static_cast<int32_t>(p) - first_[t]};
    // Partitions are visited in (topic, partition) order, so every list comes out sorted.
    plan.balanced[members_[member]->member_id].push_back(tp);
    const std::vector<int>& owners = owners_[p];
    if (!owners.empty() && std::find(owners.begin(), owners.end(), member) == owners.end()) {
      plan.withheld.push_back(std::move(tp));
    }
  }
  return plan;
}

}  // namespace

StickyPlan PlanCooperativeSticky(const std::map<std::string, int32_t>& partitions_per_topic,
                                 const std::vector<MemberSubscription>& members) {
  Planner planner(partitions_per_topic, members);
  planner.KeepOwned();
  planner.AssignUnowned();
  planner.Balance();
  return planner.Result(members);
}

GroupAssignment CooperativeStickyAssignor::Assign(
    const std::map<std::string, int32_t>& partitions_per_topic,
    const std::vector<MemberSubscription>& members) const {
  StickyPlan plan = PlanCooperativeSticky(partitions_per_topic, members);
  for (auto& [member, partitions] : plan.balanced) {
    std::erase_if(partitions, [&](const TopicPartition& tp) {
      return std::binary_search(plan.withheld.begin(), plan.withheld.end(), tp);
    });
  }
  return std::move(plan.balanced);
}

}  // namespace strata::client
