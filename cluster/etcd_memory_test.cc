#include "cluster/etcd_memory.h"

#include <catch2/catch.hpp>

namespace strata::cluster {
namespace {

struct Recorder {
  absl::Mutex mu;
  std::vector<WatchUpdate> updates;
  std::function<void(WatchUpdate)> callback() {
    return [this](WatchUpdate u) {
      absl::MutexLock lock(&mu);
      updates.push_back(std::move(u));
    };
  }
  std::vector<WatchUpdate> Take() {
    absl::MutexLock lock(&mu);
    return std::exchange(updates, {});
  }
};

TEST_CASE("PrefixEnd bounds exactly the keys with the prefix") {
  CHECK(PrefixEnd("/a/") == "/a0");
  CHECK(PrefixEnd(std::string("a\xff", 2)) == "b");
  CHECK(PrefixEnd("") == std::string(1, '\0'));
}

TEST_CASE("MemoryEtcd keeps revisions like etcd") {
  MemoryEtcd etcd;
  auto r1 = etcd.Put("/k", "v1");
  REQUIRE(r1.ok());
  auto r2 = etcd.Put("/k", "v2");
  REQUIRE(r2.ok());
  CHECK(*r2 == *r1 + 1);
  auto got = etcd.Range(KeyRange::Exactly("/k"));
  REQUIRE(got.ok());
  REQUIRE(got->kvs.size() == 1);
  CHECK(got->kvs[0].value == "v2");
  CHECK(got->kvs[0].create_revision == *r1);
  CHECK(got->kvs[0].mod_revision == *r2);
  CHECK(got->kvs[0].version == 2);

  REQUIRE(etcd.Put("/k2", "x").ok());
  REQUIRE(etcd.Put("/l", "y").ok());
  CHECK(etcd.Range(KeyRange::Prefix("/k"))->kvs.size() == 2);
  CHECK(*etcd.Delete(KeyRange::Prefix("/k")) == 2);
  CHECK(etcd.Range(KeyRange::Prefix("/"))->kvs.size() == 1);
}

TEST_CASE("MemoryEtcd transactions compare then act") {
  MemoryEtcd etcd;
  Txn create;
  create.compares.push_back(Compare::Absent("/c"));
  create.success.push_back(Op::Put("/c", "first"));
  create.failure.push_back(Op::Get(KeyRange::Exactly("/c")));
  auto first = etcd.Commit(create);
  REQUIRE(first.ok());
  CHECK(first->succeeded);
  auto second = etcd.Commit(create);
  REQUIRE(second.ok());
  CHECK_FALSE(second->succeeded);
  REQUIRE(second->ranges.size() == 1);
  REQUIRE(second->ranges[0].kvs.size() == 1);
  CHECK(second->ranges[0].kvs[0].value == "first");

  // A compare-and-set on the mod revision fails once someone else wrote.
  int64_t seen = second->ranges[0].kvs[0].mod_revision;
  REQUIRE(etcd.Put("/c", "other").ok());
  Txn cas;
  cas.compares.push_back(Compare::ModRevision("/c", seen));
  cas.success.push_back(Op::Put("/c", "mine"));
  CHECK_FALSE(etcd.Commit(cas)->succeeded);
  CHECK(etcd.Range(KeyRange::Exactly("/c"))->kvs[0].value == "other");
}

TEST_CASE("MemoryEtcd leases delete their keys when they expire") {
  MemoryEtcd etcd;
  auto lease = etcd.GrantLease(3);
  REQUIRE(lease.ok());
  REQUIRE(etcd.Put("/b/1", "x", lease->id).ok());
  etcd.AdvanceClock(2000);
  REQUIRE(etcd.KeepAlive(lease->id).ok());
  etcd.AdvanceClock(2000);
  CHECK(etcd.Range(KeyRange::Exactly("/b/1"))->kvs.size() == 1);
  etcd.AdvanceClock(1000);
  CHECK(etcd.Range(KeyRange::Exactly("/b/1"))->kvs.empty());
  CHECK(absl::IsNotFound(etcd.KeepAlive(lease->id).status()));
  CHECK(absl::IsNotFound(etcd.Put("/b/1", "x", lease->id).status()));
}

TEST_CASE("MemoryEtcd watches deliver events from a revision, and end on compaction") {
  MemoryEtcd etcd;
  int64_t start = *etcd.Put("/w/a", "1");
  REQUIRE(etcd.Put("/other", "x").ok());
  REQUIRE(etcd.Delete(KeyRange::Exactly("/w/a")).ok());
  Recorder rec;
  auto watch = etcd.Watch(KeyRange::Prefix("/w/"), start, rec.callback());
  REQUIRE(watch.ok());
  REQUIRE(etcd.Put("/w/b", "2").ok());
  etcd.WaitForWatches();
  auto updates = rec.Take();
  REQUIRE(updates.size() == 3);
  CHECK(updates[0].events[0].type == WatchEvent::Type::kPut);
  CHECK(updates[0].events[0].kv.key == "/w/a");
  CHECK(updates[1].events[0].type == WatchEvent::Type::kDelete);
  CHECK(updates[2].events[0].kv.key == "/w/b");
  watch->reset();
  REQUIRE(etcd.Put("/w/c", "3").ok());
  etcd.WaitForWatches();
  CHECK(rec.Take().empty());

  etcd.Compact(etcd.revision());
  Recorder late;
  auto compacted = etcd.Watch(KeyRange::Prefix("/w/"), start, late.callback());
  REQUIRE(compacted.ok());
  etcd.WaitForWatches();
  auto ended = late.Take();
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].ended);
  CHECK(ended[0].compact_revision > 0);
}

TEST_CASE("MemoryEtcd unavailable: calls fail and watches end") {
  MemoryEtcd etcd;
  Recorder rec;
  auto watch = etcd.Watch(KeyRange::Prefix("/"), 1, rec.callback());
  REQUIRE(watch.ok());
  etcd.SetAvailable(false);
  CHECK(absl::IsUnavailable(etcd.Put("/x", "y").status()));
  etcd.WaitForWatches();
  auto updates = rec.Take();
  REQUIRE(updates.size() == 1);
  CHECK(updates[0].ended);
  CHECK(absl::IsUnavailable(updates[0].status));
}

}  // namespace
}  // namespace strata::cluster
