// Test helpers for the assignors: building subscriptions, and checks that return a description
// of every violation found (empty when there is none), so a failing CHECK says what broke.
// Test-only; not part of strata_client.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "client/assignor.h"

namespace strata::client::testing {

using Topics = std::map<std::string, int32_t>;

inline MemberSubscription Sub(std::string id, std::vector<std::string> topics,
                              std::vector<TopicPartition> owned = {}, int32_t generation = -1,
                              std::optional<std::string> instance = std::nullopt) {
  MemberSubscription s;
  s.member_id = std::move(id);
  s.group_instance_id = std::move(instance);
  s.topics = std::move(topics);
  s.owned_partitions = std::move(owned);
  s.generation = generation;
  return s;
}

inline std::string Show(const std::vector<TopicPartition>& tps) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < tps.size(); ++i) {
    out << (i ? " " : "") << tps[i].topic << "-" << tps[i].partition;
  }
  out << "]";
  return out.str();
}

inline std::string Show(const GroupAssignment& a) {
  std::ostringstream out;
  for (const auto& [member, tps] : a) out << member << ": " << Show(tps) << "\n";
  return out.str();
}

inline std::string Show(const std::vector<MemberSubscription>& members) {
  std::ostringstream out;
  for (const MemberSubscription& m : members) {
    out << m.member_id << (m.group_instance_id ? " (" + *m.group_instance_id + ")" : "") << " gen "
        << m.generation << " topics";
    for (const std::string& t : m.topics) out << " " << t;
    out << " owns " << Show(m.owned_partitions) << "\n";
  }
  return out.str();
}

inline bool Subscribes(const MemberSubscription& m, const std::string& topic) {
  return std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end();
}

inline const MemberSubscription* Find(const std::vector<MemberSubscription>& members,
                                      const std::string& id) {
  for (const MemberSubscription& m : members) {
    if (m.member_id == id) return &m;
  }
  return nullptr;
}

// Every partition that should be assigned: the existing ones of every subscribed topic.
inline std::set<TopicPartition> Assignable(const Topics& topics,
                                           const std::vector<MemberSubscription>& members) {
  std::set<TopicPartition> out;
  for (const MemberSubscription& m : members) {
    for (const std::string& t : m.topics) {
      auto it = topics.find(t);
      if (it == topics.end()) continue;
      for (int32_t p = 0; p < it->second; ++p) out.insert({t, p});
    }
  }
  return out;
}

// Exactly the input's members appear, each list is sorted, every partition exists and goes to a
// member subscribed to its topic, none twice, and (if `complete`) none is left out.
inline std::string CheckValid(const Topics& topics, const std::vector<MemberSubscription>& members,
                              const GroupAssignment& a, bool complete) {
  std::ostringstream problems;
  std::set<std::string> ids;
  for (const MemberSubscription& m : members) ids.insert(m.member_id);
  for (const std::string& id : ids) {
    if (!a.contains(id)) problems << "member " << id << " missing\n";
  }
  const std::set<TopicPartition> assignable = Assignable(topics, members);
  std::map<TopicPartition, std::string> holder;
  for (const auto& [id, tps] : a) {
    const MemberSubscription* m = Find(members, id);
    if (m == nullptr) {
      problems << "unknown member " << id << "\n";
      continue;
    }
    if (!std::is_sorted(tps.begin(), tps.end())) problems << id << "'s list is not sorted\n";
    for (const TopicPartition& tp : tps) {
      const std::string name = tp.topic + "-" + std::to_string(tp.partition);
      if (!assignable.contains(tp)) problems << name << " does not exist\n";
      if (!Subscribes(*m, tp.topic)) problems << name << " given to " << id << ", not subscribed\n";
      auto [it, fresh] = holder.emplace(tp, id);
      if (!fresh) problems << name << " given to " << it->second << " and " << id << "\n";
    }
  }
  if (complete) {
    for (const TopicPartition& tp : assignable) {
      if (!holder.contains(tp)) problems << tp.topic << "-" << tp.partition << " unassigned\n";
    }
  }
  return problems.str();
}

// No partition could move to another member subscribed to its topic that has at least two fewer
// partitions. For equal subscriptions: counts differ by at most one.
inline std::string CheckBalanced(const std::vector<MemberSubscription>& members,
                                 const GroupAssignment& a) {
  std::ostringstream problems;
  for (const auto& [from, tps] : a) {
    for (const auto& [to, other] : a) {
      if (tps.size() < other.size() + 2) continue;
      const MemberSubscription* m = Find(members, to);
      for (const TopicPartition& tp : tps) {
        if (m != nullptr && Subscribes(*m, tp.topic)) {
          problems << from << " has " << tps.size() << " but " << to << " only " << other.size()
                   << " and could take " << tp.topic << "-" << tp.partition << "\n";
          break;
        }
      }
    }
  }
  return problems.str();
}

inline uint64_t SeedFromEnv() {
  const char* v = std::getenv("STRATA_SEED");
  return v != nullptr ? std::strtoull(v, nullptr, 10) : std::random_device{}();
}

}  // namespace strata::client::testing
