// FakeBroker: a tiny in-process stand-in for stratad, for client tests that need no real broker.
// It serves ApiVersions, Metadata, InitProducerId, Produce (with idempotent deduplication by
// producer id and base sequence), Fetch (no long-poll: it answers at once) and ListOffsets for
// topics given at construction, keeping batches in memory. Test-only.
//
// Thread-safe: one thread accepts, one thread per connection serves; state is under a mutex.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace strata::client {

class FakeBroker {
 public:
  // Listens on 127.0.0.1 at a free port; `topics` maps names to partition counts.
  explicit FakeBroker(std::map<std::string, int32_t> topics);
  ~FakeBroker();

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Records appended to a partition, by value, in offset order.
  std::vector<std::string> Values(const std::string& topic, int32_t partition);
  // Flips a bit in the last byte of a partition's last batch (a record byte, under the checksum),
  // so that a consumer reading it gets DataLoss.
  void TEST_CorruptLastBatch(const std::string& topic, int32_t partition);
  int64_t produce_requests() const { return produce_requests_; }
  int64_t duplicates() const { return duplicates_; }

 private:
  struct Partition {
    std::vector<std::vector<std::byte>> batches;  // stamped, in offset order
    std::vector<int64_t> base_offsets;
    int64_t end = 0;
    std::map<std::tuple<int64_t, int32_t>, int64_t> seen;  // (producer id, seq) -> base offset
  };

  void Accept();
  void Serve(int fd);
  std::vector<std::byte> Handle(uint16_t api_key, std::span<const std::byte> body, bool* respond);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  absl::Mutex mu_;
  std::vector<std::thread> servers_ ABSL_GUARDED_BY(mu_);
  std::vector<int> fds_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::vector<Partition>> topics_ ABSL_GUARDED_BY(mu_);
  int64_t next_producer_id_ ABSL_GUARDED_BY(mu_) = 1000;
  std::atomic<int64_t> produce_requests_{0};
  std::atomic<int64_t> duplicates_{0};
};

}  // namespace strata::client
