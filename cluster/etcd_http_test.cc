// EtcdHttpClient against a real etcd (tests/etcd_process.h), one fresh etcd per test case.
#include "cluster/etcd_http.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "tests/etcd_process.h"

namespace strata::cluster {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::unique_ptr<EtcdHttpClient> Connect(std::vector<std::string> endpoints,
                                        std::chrono::milliseconds timeout = 2000ms) {
  auto client = EtcdHttpClient::Create(std::move(endpoints), timeout);
  REQUIRE(client.ok());
  return std::move(*client);
}

std::chrono::milliseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// Polls `done` every 10 ms until it holds or `timeout` passes.
template <typename F>
bool WaitFor(F done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// Collects a watch's updates, for the test thread to wait on and inspect. Must outlive the
// watch's handle.
class Recorder {
 public:
  std::function<void(WatchUpdate)> Callback() {
    return [this](WatchUpdate update) {
      absl::MutexLock lock(&mu_);
      updates_.push_back(std::move(update));
    };
  }
  std::vector<WatchUpdate> updates() {
    absl::MutexLock lock(&mu_);
    return updates_;
  }
  std::vector<WatchEvent> events() {
    std::vector<WatchEvent> out;
    for (const WatchUpdate& u : updates()) out.insert(out.end(), u.events.begin(), u.events.end());
    return out;
  }
  bool WaitForEvents(size_t count, std::chrono::milliseconds timeout = 5s) {
    return WaitFor([&] { return events().size() >= count; }, timeout);
  }
  bool WaitForEnd(std::chrono::milliseconds timeout = 5s) {
    return WaitFor([&] { return ended(); }, timeout);
  }
  bool ended() {
    auto all = updates();
    return !all.empty() && all.back().ended;
  }

 private:
  absl::Mutex mu_;
  std::vector<WatchUpdate> updates_ ABSL_GUARDED_BY(mu_);
};

TEST_CASE("EtcdHttpClient: put, range, prefix range, delete") {
  test::EtcdProcess etcd;
  auto client = Connect({etcd.endpoint()});

  auto r1 = client->Put("a/1", "one");
  REQUIRE(r1.ok());
  auto r2 = client->Put("a/2", "two");
  REQUIRE(r2.ok());
  CHECK(*r2 == *r1 + 1);
  REQUIRE(client->Put("b", "bee").ok());

  auto one = client->Range(KeyRange::Exactly("a/1"));
  REQUIRE(one.ok());
  CHECK(one->revision == *r2 + 1);
  REQUIRE(one->kvs.size() == 1);
  CHECK(one->kvs[0].key == "a/1");
  CHECK(one->kvs[0].value == "one");
  CHECK(one->kvs[0].create_revision == *r1);
  CHECK(one->kvs[0].mod_revision == *r1);
  CHECK(one->kvs[0].version == 1);
  CHECK(one->kvs[0].lease == 0);

  auto none = client->Range(KeyRange::Exactly("a/"));
  REQUIRE(none.ok());
  CHECK(none->kvs.empty());
  CHECK(none->revision == *r2 + 1);

  auto prefix = client->Range(KeyRange::Prefix("a/"));
  REQUIRE(prefix.ok());
  REQUIRE(prefix->kvs.size() == 2);
  CHECK(prefix->kvs[0].key == "a/1");
  CHECK(prefix->kvs[1].key == "a/2");
  CHECK(prefix->kvs[1].value == "two");

  auto r4 = client->Put("a/1", "uno");
  REQUIRE(r4.ok());
  one = client->Range(KeyRange::Exactly("a/1"));
  REQUIRE(one.ok());
  REQUIRE(one->kvs.size() == 1);
  CHECK(one->kvs[0].value == "uno");
  CHECK(one->kvs[0].create_revision == *r1);
  CHECK(one->kvs[0].mod_revision == *r4);
  CHECK(one->kvs[0].version == 2);

  // Any bytes survive the base64 round trip, in keys and values; an empty value too (the
  // gateway leaves the field out).
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  const std::string binary_key("bin/\0\xff", 6);
  REQUIRE(client->Put(binary_key, bytes).ok());
  REQUIRE(client->Put("empty", "").ok());
  auto binary = client->Range(KeyRange::Exactly(binary_key));
  REQUIRE(binary.ok());
  REQUIRE(binary->kvs.size() == 1);
  CHECK(binary->kvs[0].key == binary_key);
  CHECK(binary->kvs[0].value == bytes);
  auto empty = client->Range(KeyRange::Exactly("empty"));
  REQUIRE(empty.ok());
  REQUIRE(empty->kvs.size() == 1);
  CHECK(empty->kvs[0].value.empty());

  // The empty prefix is every key, in key order.
  auto everything = client->Range(KeyRange::Prefix(""));
  REQUIRE(everything.ok());
  std::vector<std::string> keys;
  for (const KeyValue& kv : everything->kvs) keys.push_back(kv.key);
  CHECK(keys == std::vector<std::string>{"a/1", "a/2", "b", binary_key, "empty"});

  auto deleted = client->Delete(KeyRange::Prefix("a/"));
  REQUIRE(deleted.ok());
  CHECK(*deleted == 2);
  deleted = client->Delete(KeyRange::Exactly("a/1"));
  REQUIRE(deleted.ok());
  CHECK(*deleted == 0);
  prefix = client->Range(KeyRange::Prefix("a/"));
  REQUIRE(prefix.ok());
  CHECK(prefix->kvs.empty());

  // etcd refuses an empty key, and a retry would not help.
  auto no_key = client->Put("", "x");
  CHECK(no_key.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("EtcdHttpClient: transactions") {
  test::EtcdProcess etcd;
  auto client = Connect({etcd.endpoint()});

  // Create-if-absent, reading the key back in the same transaction.
  Txn create;
  create.compares = {Compare::Absent("k")};
  create.success = {Op::Put("k", "v1"), Op::Get(KeyRange::Exactly("k"))};
  create.failure = {Op::Get(KeyRange::Exactly("k"))};
  auto first = client->Commit(create);
  REQUIRE(first.ok());
  CHECK(first->succeeded);
  REQUIRE(first->ranges.size() == 2);
  CHECK(first->ranges[0].kvs.empty());  // the put's entry
  REQUIRE(first->ranges[1].kvs.size() == 1);
  CHECK(first->ranges[1].kvs[0].value == "v1");
  CHECK(first->ranges[1].kvs[0].create_revision == first->revision);
  CHECK(first->ranges[1].revision == first->revision);

  auto second = client->Commit(create);
  REQUIRE(second.ok());
  CHECK_FALSE(second->succeeded);
  CHECK(second->revision == first->revision);
  REQUIRE(second->ranges.size() == 1);
  REQUIRE(second->ranges[0].kvs.size() == 1);
  CHECK(second->ranges[0].kvs[0].value == "v1");

  // Compare-and-swap on the mod revision.
  Txn swap;
  swap.compares = {Compare::ModRevision("k", first->revision)};
  swap.success = {Op::Put("k", "v2"), Op::Delete(KeyRange::Exactly("nothing")),
                  Op::Put("other", "o")};
  auto third = client->Commit(swap);
  REQUIRE(third.ok());
  CHECK(third->succeeded);
  CHECK(third->revision == first->revision + 1);  // one transaction, one revision
  REQUIRE(third->ranges.size() == 3);
  for (const RangeResult& r : third->ranges) CHECK(r.kvs.empty());
  auto stale = client->Commit(swap);
  REQUIRE(stale.ok());
  CHECK_FALSE(stale->succeeded);
  CHECK(stale->ranges.empty());

  // The other targets and results, all true at once.
  Txn checks;
  using T = Compare::Target;
  using R = Compare::Result;
  checks.compares = {
      {"k", T::kVersion, R::kEqual, 2, {}},
      {"k", T::kValue, R::kEqual, 0, "v2"},
      {"k", T::kValue, R::kNotEqual, 0, "v1"},
      {"k", T::kCreateRevision, R::kLess, third->revision, {}},
      {"k", T::kModRevision, R::kGreater, first->revision, {}},
  };
  checks.success = {Op::Get(KeyRange::Prefix(""))};
  auto all_true = client->Commit(checks);
  REQUIRE(all_true.ok());
  CHECK(all_true->succeeded);
  REQUIRE(all_true->ranges.size() == 1);
  REQUIRE(all_true->ranges[0].kvs.size() == 2);
  CHECK(all_true->ranges[0].kvs[0].key == "k");
  CHECK(all_true->ranges[0].kvs[1].key == "other");

  // etcd fails every value compare on a missing key, NOT_EQUAL included.
  Txn missing;
  missing.compares = {{"missing", T::kValue, R::kNotEqual, 0, "anything"}};
  auto missing_result = client->Commit(missing);
  REQUIRE(missing_result.ok());
  CHECK_FALSE(missing_result->succeeded);
}

TEST_CASE("EtcdHttpClient: leases") {
  test::EtcdProcess etcd;
  auto client = Connect({etcd.endpoint()});

  auto lease = client->GrantLease(2);
  REQUIRE(lease.ok());
  CHECK(lease->id != 0);
  CHECK(lease->ttl_seconds == 2);
  REQUIRE(client->Put("leased", "v", lease->id).ok());
  auto leased = client->Range(KeyRange::Exactly("leased"));
  REQUIRE(leased.ok());
  REQUIRE(leased->kvs.size() == 1);
  CHECK(leased->kvs[0].lease == lease->id);
  auto ttl = client->KeepAlive(lease->id);
  REQUIRE(ttl.ok());
  CHECK(*ttl == 2);
  const auto renewed = Clock::now();

  // Revoking deletes the lease's keys at once; the lease is gone for good.
  auto other = client->GrantLease(60);
  REQUIRE(other.ok());
  Txn put;
  put.success = {Op::Put("revoked", "v", other->id)};
  REQUIRE(client->Commit(put).ok());
  REQUIRE(client->RevokeLease(other->id).ok());
  auto revoked = client->Range(KeyRange::Exactly("revoked"));
  REQUIRE(revoked.ok());
  CHECK(revoked->kvs.empty());
  CHECK(client->KeepAlive(other->id).status().code() == absl::StatusCode::kNotFound);
  CHECK(client->RevokeLease(other->id).code() == absl::StatusCode::kNotFound);
  CHECK(client->Put("x", "y", other->id).status().code() == absl::StatusCode::kNotFound);

  // Left alone, the first lease expires about 2 s after its renewal and takes its key along.
  REQUIRE(WaitFor(
      [&] {
        auto r = client->Range(KeyRange::Exactly("leased"));
        REQUIRE(r.ok());
        return r->kvs.empty();
      },
      10s));
  CHECK(Since(renewed) >= 1500ms);
  CHECK(client->KeepAlive(lease->id).status().code() == absl::StatusCode::kNotFound);
  CHECK(client->RevokeLease(lease->id).code() == absl::StatusCode::kNotFound);
}

TEST_CASE("EtcdHttpClient: a watch delivers puts and deletes in order from its start revision") {
  test::EtcdProcess etcd;
  auto client = Connect({etcd.endpoint()});

  REQUIRE(client->Put("w/before", "x").ok());  // before the start revision: not delivered
  auto start = client->Put("w/a", "1");
  REQUIRE(start.ok());
  REQUIRE(client->Put("w/b", "2").ok());
  REQUIRE(client->Delete(KeyRange::Exactly("w/a")).ok());
  REQUIRE(client->Put("outside", "o").ok());  // not in the range

  Recorder recorder;
  auto watch = client->Watch(KeyRange::Prefix("w/"), *start, recorder.Callback());
  REQUIRE(watch.ok());
  auto last = client->Put("w/c", "3");  // after the watch began
  REQUIRE(last.ok());
  REQUIRE(recorder.WaitForEvents(4));

  const std::vector<WatchEvent> events = recorder.events();
  REQUIRE(events.size() == 4);
  CHECK(events[0].type == WatchEvent::Type::kPut);
  CHECK(events[0].kv.key == "w/a");
  CHECK(events[0].kv.value == "1");
  CHECK(events[0].kv.mod_revision == *start);
  CHECK(events[0].kv.create_revision == *start);
  CHECK(events[0].kv.version == 1);
  CHECK(events[1].type == WatchEvent::Type::kPut);
  CHECK(events[1].kv.key == "w/b");
  CHECK(events[1].kv.value == "2");
  CHECK(events[2].type == WatchEvent::Type::kDelete);
  CHECK(events[2].kv.key == "w/a");
  CHECK(events[2].kv.mod_revision == *start + 2);
  CHECK(events[3].type == WatchEvent::Type::kPut);
  CHECK(events[3].kv.key == "w/c");
  CHECK(events[3].kv.mod_revision == *last);
  for (size_t i = 1; i < events.size(); ++i) {
    CHECK(events[i].kv.mod_revision > events[i - 1].kv.mod_revision);
  }
  for (const WatchUpdate& u : recorder.updates()) {
    CHECK_FALSE(u.ended);
    REQUIRE_FALSE(u.events.empty());  // "created" is not delivered
    CHECK(u.revision == u.events.back().kv.mod_revision);
  }
}

TEST_CASE("EtcdHttpClient: a watch's revision never runs ahead of the events it delivered") {
  test::EtcdProcess etcd;
  auto client = Connect({etcd.endpoint()});
  // etcd sends a watch that starts this far back in batches of at most 1000 revisions, each
  // answer stamped with the store's current revision.
  constexpr int kPuts = 1100;
  auto first = client->Put("h/0", "x");
  REQUIRE(first.ok());
  for (int i = 1; i < kPuts; ++i) REQUIRE(client->Put("h/" + std::to_string(i), "x").ok());
  Recorder recorder;
  auto watch = client->Watch(KeyRange::Prefix("h/"), *first, recorder.Callback());
  REQUIRE(watch.ok());
  REQUIRE(recorder.WaitForEvents(kPuts, 10s));
  const std::vector<WatchUpdate> updates = recorder.updates();
  CHECK(updates.size() >= 2);
  for (const WatchUpdate& u : updates) {
    REQUIRE_FALSE(u.events.empty());
    CHECK(u.revision == u.events.back().kv.mod_revision);
  }
  CHECK(updates.back().revision == *first + kPuts - 1);
}

TEST_CASE("EtcdHttpClient: a watch from a compacted revision ends with compact_revision") {
  test::EtcdProcess etcd;
  auto client = Connect({etcd.endpoint()});

  auto first = client->Put("c", "1");
  REQUIRE(first.ok());
  REQUIRE(client->Put("c", "2").ok());
  auto third = client->Put("c", "3");
  REQUIRE(third.ok());
  REQUIRE(client->Compact(*third).ok());
  CHECK(client->Compact(*first).code() == absl::StatusCode::kOutOfRange);

  Recorder compacted;
  auto watch = client->Watch(KeyRange::Exactly("c"), *first, compacted.Callback());
  REQUIRE(watch.ok());
  REQUIRE(compacted.WaitForEnd());
  const std::vector<WatchUpdate> updates = compacted.updates();
  REQUIRE(updates.size() == 1);
  CHECK(updates[0].ended);
  CHECK(updates[0].events.empty());
  CHECK(updates[0].compact_revision == *third);
  CHECK(updates[0].status.code() == absl::StatusCode::kOutOfRange);
  // Nothing after the end, whatever changes.
  REQUIRE(client->Put("c", "4").ok());
  std::this_thread::sleep_for(200ms);
  CHECK(compacted.updates().size() == 1);

  // What the caller does next: watch again from the compaction on.
  Recorder again;
  auto rewatch = client->Watch(KeyRange::Exactly("c"), *third, again.Callback());
  REQUIRE(rewatch.ok());
  REQUIRE(again.WaitForEvents(2));
  CHECK(again.events()[0].kv.value == "3");
  CHECK(again.events()[1].kv.value == "4");
}

TEST_CASE("EtcdHttpClient: destroying a watch stops it promptly, and its callback runs no more") {
  test::EtcdProcess etcd;
  auto client = Connect({etcd.endpoint()});

  SECTION("an idle watch") {
    Recorder recorder;
    auto watch = client->Watch(KeyRange::Prefix("idle/"), 0, recorder.Callback());
    REQUIRE(watch.ok());
    std::this_thread::sleep_for(100ms);  // its thread is waiting on the socket by now
    const auto start = Clock::now();
    watch->reset();
    CHECK(Since(start) < 1s);
    CHECK(recorder.updates().empty());
  }

  SECTION("a busy watch with a slow callback") {
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      for (int i = 0; !stop.load(); ++i) (void)client->Put("busy/k", std::to_string(i));
    });
    std::atomic<int> calls{0};
    std::atomic<bool> destroyed{false};
    std::atomic<bool> called_after_destruction{false};
    auto watch = client->Watch(KeyRange::Prefix("busy/"), 0, [&](WatchUpdate) {
      if (destroyed.load()) called_after_destruction = true;
      ++calls;
      std::this_thread::sleep_for(20ms);
    });
    REQUIRE(watch.ok());
    CHECK(WaitFor([&] { return calls.load() >= 3; }, 5s));
    const auto start = Clock::now();
    watch->reset();
    destroyed = true;
    CHECK(Since(start) < 1s);
    const int at_destruction = calls.load();
    std::this_thread::sleep_for(300ms);
    stop = true;
    writer.join();
    CHECK(calls.load() == at_destruction);
    CHECK_FALSE(called_after_destruction.load());
  }

  SECTION("destroyed by its own callback") {
    absl::Mutex mu;
    std::unique_ptr<WatchHandle> handle;
    std::atomic<int> calls{0};
    auto watch = client->Watch(KeyRange::Prefix("self/"), 0, [&](WatchUpdate) {
      std::unique_ptr<WatchHandle> mine;
      {
        absl::MutexLock lock(&mu);
        mine = std::move(handle);
      }
      mine.reset();  // on the watch's own thread: must neither deadlock nor crash
      // Last: once the test sees the count it may leave the section and free what this uses,
      // while the (detached) thread is still returning from here.
      ++calls;
    });
    REQUIRE(watch.ok());
    {
      absl::MutexLock lock(&mu);
      handle = std::move(*watch);
    }
    REQUIRE(client->Put("self/1", "x").ok());
    REQUIRE(WaitFor([&] { return calls.load() == 1; }, 5s));
    REQUIRE(client->Put("self/2", "x").ok());
    std::this_thread::sleep_for(300ms);
    CHECK(calls.load() == 1);
  }
}

TEST_CASE("EtcdHttpClient: etcd killed, then restarted") {
  test::EtcdProcess etcd;
  auto client = Connect({etcd.endpoint()}, 2000ms);
  auto before = client->Put("k", "v1");
  REQUIRE(before.ok());
  Recorder recorder;
  auto watch = client->Watch(KeyRange::Prefix("k"), 0, recorder.Callback());
  REQUIRE(watch.ok());

  etcd.Kill();
  REQUIRE(recorder.WaitForEnd());
  const WatchUpdate end = recorder.updates().back();
  CHECK(end.status.code() == absl::StatusCode::kUnavailable);
  CHECK(end.compact_revision == 0);

  const auto start = Clock::now();
  auto put = client->Put("k", "lost");
  CHECK(Since(start) < 2500ms);
  CHECK(put.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(put.status().message()), Catch::Contains(etcd.endpoint() + "/v3/kv/put"));
  CHECK(client->Range(KeyRange::Prefix("k")).status().code() == absl::StatusCode::kUnavailable);
  CHECK(client->GrantLease(5).status().code() == absl::StatusCode::kUnavailable);
  Recorder refused;
  CHECK(client->Watch(KeyRange::Prefix("k"), 0, refused.Callback()).status().code() ==
        absl::StatusCode::kUnavailable);
  CHECK(refused.updates().empty());
  watch->reset();

  // The same client carries on once etcd is back, with what etcd had stored.
  etcd.Restart();
  auto after = client->Put("k", "v2");
  REQUIRE(after.ok());
  CHECK(*after == *before + 1);
  Recorder resumed;
  auto rewatch = client->Watch(KeyRange::Prefix("k"), *before, resumed.Callback());
  REQUIRE(rewatch.ok());
  REQUIRE(resumed.WaitForEvents(2));
  CHECK(resumed.events()[0].kv.value == "v1");
  CHECK(resumed.events()[1].kv.value == "v2");
}

TEST_CASE("EtcdHttpClient: a hung etcd times out") {
  test::EtcdProcess etcd;
  auto client = Connect({etcd.endpoint()}, 500ms);
  REQUIRE(client->Put("k", "v").ok());  // leaves a kept-alive connection in the pool
  Recorder recorder;
  auto watch = client->Watch(KeyRange::Prefix("k"), 0, recorder.Callback());
  REQUIRE(watch.ok());

  etcd.Pause();
  auto start = Clock::now();
  CHECK(client->Put("k", "w").status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(Since(start) >= 400ms);
  CHECK(Since(start) < 1500ms);
  start = Clock::now();
  Recorder unconfirmed;
  CHECK(client->Watch(KeyRange::Prefix("k"), 0, unconfirmed.Callback()).status().code() ==
        absl::StatusCode::kDeadlineExceeded);
  CHECK(Since(start) < 1500ms);
  start = Clock::now();
  watch->reset();
  CHECK(Since(start) < 1s);

  etcd.Resume();
  CHECK(client->Put("k", "x").ok());
  CHECK(unconfirmed.updates().empty());
  CHECK(recorder.updates().empty());
}

TEST_CASE("EtcdHttpClient: endpoints") {
  using std::chrono::milliseconds;
  CHECK(EtcdHttpClient::Create({}, 1s).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(EtcdHttpClient::Create({"http://127.0.0.1:2379"}, 1s).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(EtcdHttpClient::Create({"127.0.0.1:2379"}, 0ms).status().code() ==
        absl::StatusCode::kInvalidArgument);

  test::EtcdProcess etcd;
  // Nothing listens on port 1 (binding it needs root): connecting is refused at once, so the
  // request goes on to the next endpoint.
  auto client = Connect({"127.0.0.1:1", etcd.endpoint()});
  REQUIRE(client->Put("k", "v").ok());
  Recorder recorder;
  auto watch = client->Watch(KeyRange::Prefix("k"), 1, recorder.Callback());
  REQUIRE(watch.ok());
  REQUIRE(recorder.WaitForEvents(1));

  auto dead = Connect({"127.0.0.1:1"});
  auto refused = dead->Range(KeyRange::Exactly("k"));
  CHECK(refused.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("127.0.0.1:1/v3/kv/range"));
}

}  // namespace
}  // namespace strata::cluster
