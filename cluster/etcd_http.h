// EtcdHttpClient: EtcdClient over etcd 3.4's v3 JSON gateway (POST /v3/kv/range, /v3/kv/txn,
// /v3/lease/grant, /v3/watch, ...), with libcurl. Thread-safe: unary calls share a small pool of
// curl handles, which keeps their connections to etcd alive between calls; each watch has its
// own thread and connection.
//
// Endpoints are "host:port" strings for plain HTTP. A call goes to the endpoint that last
// answered and moves on to the next one only while the request cannot have reached etcd (it could
// not connect); an answer from etcd, even an error, is final, so a put is never sent twice. All
// attempts of one call share its request timeout.
//
// Errors: Unavailable when no endpoint could be reached, the connection broke, etcd answered an
// error, or its answer was malformed; DeadlineExceeded when no answer came within the timeout;
// NotFound for a lease that no longer exists. etcd's errors that a retry cannot fix keep their
// code: InvalidArgument (an empty key, a request too large, a key twice in one txn), OutOfRange
// (Compact of a revision already compacted or not yet written). ResourceExhausted for an answer
// over limits::etcd_answer_bytes_max. Messages name the endpoint and the path.
//
// Watches: Watch returns once etcd has confirmed the watch (its first answer), or an error if it
// could not within the request timeout; updates may start before Watch returns. An update's
// `revision` is its newest event's: every change in the range up to it has been delivered. (etcd's
// own answers carry the store's revision, which runs ahead of the events while a watch catches up
// on history in batches; that would tell a caller it has seen changes it has not.) A watch ends
// with `status` OutOfRange and `compact_revision` set when its start revision was compacted,
// Unavailable when etcd canceled it for another reason or the stream broke (etcd killed, a
// malformed answer). A dead peer that sends nothing is found by TCP keepalive: a silent connection
// is probed after max(1 s, request timeout) and given up after three unanswered probes a second
// apart. The "created" answer and progress notifications (answers without events) are not
// delivered.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cluster/etcd_client.h"
#include "common/status.h"

namespace strata::cluster {

class EtcdHttpClient final : public EtcdClient {
 public:
  // InvalidArgument when `endpoints` is empty or the timeout is not positive. Does not contact
  // etcd: the first call does.
  // `local_address` (an IP address, or empty for any) is where connections to etcd leave from: a
  // broker binds them to its own address, as it does its replica fetches, so that each broker's
  // traffic can be told apart on one machine (docs/fault-testing.md).
  static absl::StatusOr<std::unique_ptr<EtcdHttpClient>> Create(
      std::vector<std::string> endpoints, std::chrono::milliseconds request_timeout,
      std::string local_address = "");
  // Waits for no watch: each WatchHandle stops its own, and may outlive the client.
  ~EtcdHttpClient() override;
  EtcdHttpClient(const EtcdHttpClient&) = delete;
  EtcdHttpClient& operator=(const EtcdHttpClient&) = delete;

  absl::StatusOr<RangeResult> Range(const KeyRange& range) override;
  absl::StatusOr<int64_t> Put(std::string_view key, std::string_view value,
                              int64_t lease = 0) override;
  absl::StatusOr<int64_t> Delete(const KeyRange& range) override;
  absl::StatusOr<TxnResult> Commit(const Txn& txn) override;

  absl::StatusOr<Lease> GrantLease(int64_t ttl_seconds) override;
  absl::StatusOr<int64_t> KeepAlive(int64_t lease_id) override;
  absl::Status RevokeLease(int64_t lease_id) override;

  absl::StatusOr<std::unique_ptr<WatchHandle>> Watch(
      const KeyRange& range, int64_t start_revision,
      std::function<void(WatchUpdate)> on_update) override;

  // Discards the history before `revision` (etcd's compaction, physical: returns once the space
  // is freed). Not part of EtcdClient: Strata leaves compaction to etcd's own
  // --auto-compaction-*, and tests use this to make a watch's start revision disappear.
  absl::Status Compact(int64_t revision);

  const std::vector<std::string>& endpoints() const { return endpoints_; }

 private:
  EtcdHttpClient(std::vector<std::string> endpoints, std::chrono::milliseconds request_timeout,
                 std::string local_address);

  // The body of a 200 answer, and where it came from ("etcd at host:port/path") for messages.
  struct Answer {
    std::string body;
    std::string where;
  };
  // POSTs `body` (JSON) to `path`; any answer but a 200 and any transport failure becomes a
  // status as the header comment describes.
  absl::StatusOr<Answer> Post(std::string_view path, const std::string& body);
  // A curl easy handle (CURL*, kept as void* so that curl.h stays out of this header) from the
  // pool, or a new one; and back to the pool.
  void* TakeHandle();
  void ReturnHandle(void* handle);

  const std::vector<std::string> endpoints_;
  const std::chrono::milliseconds request_timeout_;
  const std::string local_address_;  // empty: any
  // The endpoint that last answered, where the next call starts.
  std::atomic<size_t> preferred_endpoint_{0};

  absl::Mutex mu_;
  std::vector<void*> idle_handles_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::cluster
