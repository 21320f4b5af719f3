// EtcdClient: what Strata asks of etcd, and nothing more. Coordination code (cluster/) talks to
// this interface; `EtcdHttpClient` (cluster/etcd_http.h) speaks etcd's v3 JSON gateway to a real
// etcd, and `MemoryEtcd` (cluster/etcd_memory.h) is an in-process stand-in for unit tests only.
// docs/cluster.md describes the keys Strata keeps in etcd and how each is written.
//
// The model is etcd's own (etcd.io/docs/v3.4/learning/api): a flat ordered key space of byte
// strings; every change bumps the store's revision; each key carries the revision that created it
// (`create_revision`) and last changed it (`mod_revision`); a key may be attached to a lease and
// is deleted when the lease expires. A transaction is compare-then-ops, atomically.
//
// Calls block the calling thread (up to the client's request timeout) and return errors as
// values: Unavailable when etcd cannot be reached or answered an error, DeadlineExceeded on
// timeout, NotFound for a lease that no longer exists. Safe to call from several threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace strata::cluster {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;  // changes since creation; 1 after the first put
  int64_t lease = 0;    // 0: not attached to a lease
};

// The end of the range of every key that starts with `prefix` (etcd's "prefix + 1").
std::string PrefixEnd(std::string_view prefix);

// Keys [key, range_end); an empty range_end means exactly `key`.
struct KeyRange {
  std::string key;
  std::string range_end;

  static KeyRange Exactly(std::string_view key) { return {std::string(key), {}}; }
  static KeyRange Prefix(std::string_view prefix) {
    return {std::string(prefix), PrefixEnd(prefix)};
  }
};

struct RangeResult {
  int64_t revision = 0;  // the store's revision when it was read
  std::vector<KeyValue> kvs;
};

// One compare of a transaction, on one key. A key that does not exist has create_revision,
// mod_revision and version 0; a compare of its value fails whatever the operator (even
// kNotEqual), as in etcd.
struct Compare {
  enum class Target { kCreateRevision, kModRevision, kVersion, kValue };
  enum class Result { kEqual, kNotEqual, kGreater, kLess };
  std::string key;
  Target target = Target::kModRevision;
  Result result = Result::kEqual;
  int64_t number = 0;  // for the revision and version targets
  std::string value;   // for kValue

  static Compare CreateRevision(std::string_view key, int64_t revision) {
    return {std::string(key), Target::kCreateRevision, Result::kEqual, revision, {}};
  }
  static Compare ModRevision(std::string_view key, int64_t revision) {
    return {std::string(key), Target::kModRevision, Result::kEqual, revision, {}};
  }
  // True only if the key does not exist.
  static Compare Absent(std::string_view key) { return CreateRevision(key, 0); }
};

struct Op {
  enum class Kind { kPut, kDelete, kRange };
  Kind kind = Kind::kPut;
  KeyRange range;     // kPut uses range.key only
  std::string value;  // kPut
  int64_t lease = 0;  // kPut

  static Op Put(std::string_view key, std::string value, int64_t lease = 0) {
    return {Kind::kPut, KeyRange::Exactly(key), std::move(value), lease};
  }
  static Op Delete(KeyRange range) { return {Kind::kDelete, std::move(range), {}, 0}; }
  static Op Get(KeyRange range) { return {Kind::kRange, std::move(range), {}, 0}; }
};

struct Txn {
  std::vector<Compare> compares;  // all must hold...
  std::vector<Op> success;        // ...for these to run,
  std::vector<Op> failure;        // else these.
};

struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;  // the store's revision after the transaction
  // One entry per op that ran, in order; filled for kRange ops, empty for the others.
  std::vector<RangeResult> ranges;
};

struct Lease {
  int64_t id = 0;
  int64_t ttl_seconds = 0;  // as granted; etcd may raise a short TTL to its minimum
};

struct WatchEvent {
  enum class Type { kPut, kDelete };
  Type type = Type::kPut;
  KeyValue kv;  // for kDelete only key and mod_revision are set
};

// What a watch delivers: a batch of events in revision order, or its end. A watch ends (and
// delivers nothing more) on cancellation by etcd, on compaction of `start_revision`
// (`compact_revision` set: the caller must re-read the range and watch again from that read's
// revision + 1), and on losing the connection; `status` says which.
struct WatchUpdate {
  // The revision of the newest event delivered (not etcd's header revision, which runs ahead
  // while a watch catches up on history): a reader that applied this update has seen every
  // change up to here.
  int64_t revision = 0;
  std::vector<WatchEvent> events;
  bool ended = false;
  absl::Status status;           // why it ended
  int64_t compact_revision = 0;  // > 0: start_revision had been compacted
};

// A running watch. Destroying it cancels the watch and waits until its callback is no longer
// running and will not run again, so the callback may use whatever outlives the handle.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
};

class EtcdClient {
 public:
  virtual ~EtcdClient() = default;

  virtual absl::StatusOr<RangeResult> Range(const KeyRange& range) = 0;
  // Returns the store's revision after the put.
  virtual absl::StatusOr<int64_t> Put(std::string_view key, std::string_view value,
                                      int64_t lease = 0) = 0;
  // Returns how many keys were deleted.
  virtual absl::StatusOr<int64_t> Delete(const KeyRange& range) = 0;
  virtual absl::StatusOr<TxnResult> Commit(const Txn& txn) = 0;

  virtual absl::StatusOr<Lease> GrantLease(int64_t ttl_seconds) = 0;
  // Renews the lease once; returns its TTL. NotFound when the lease has expired or was revoked.
  virtual absl::StatusOr<int64_t> KeepAlive(int64_t lease_id) = 0;
  virtual absl::Status RevokeLease(int64_t lease_id) = 0;

  // Watches `range` from `start_revision` (inclusive). `on_update` runs on a thread of the
  // client's, one update at a time, and must not block for long; after an update with `ended`
  // it is not called again.
  virtual absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(
      const KeyRange& range, int64_t start_revision,
      std::function<void(WatchUpdate)> on_update) = 0;
};

}  // namespace strata::cluster
