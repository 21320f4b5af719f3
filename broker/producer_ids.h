// ProducerIdAllocator: hands out idempotent-producer ids (InitProducerId) that are never reused,
// across restarts and crashes included.
//
// The file `<data_dir>/meta/producer-ids` holds one decimal number: every id below it may have
// been handed out. Before handing out any id of a new block of limits::producer_id_block ids, the
// allocator durably raises that number past the block (io::WriteFileAtomic); a crash wastes the
// rest of the block, never repeats an id. A reused id would let a new producer's sequence 0 be
// mistaken for a retry of an old producer's batch.
// In a cluster the blocks come from etcd instead (a counter every broker raises by
// compare-and-set, ClusterMember::ReserveProducerIds): ids must be unique across brokers, since a
// producer's retries may reach any leader. UseBlockSource switches to it.
// Thread-safe (one mutex; a file write, or an etcd transaction, once per block).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"
#include "io/file_system.h"

namespace strata::broker {

class ProducerIdAllocator {
 public:
  // Reads (or starts) `<data_dir>/meta/producer-ids`. InvalidArgument naming the file if its
  // contents are not a number.
  static absl::StatusOr<std::unique_ptr<ProducerIdAllocator>> Open(io::FileSystem* fs,
                                                                   const std::string& data_dir);
  // A fresh id. I/O errors when the next block cannot be reserved.
  absl::StatusOr<int64_t> Next();
  // From now on, blocks come from `reserve(count)`, which returns the first id of `count`
  // reserved ids.
  void UseBlockSource(std::function<absl::StatusOr<int64_t>(int64_t count)> reserve);

  static std::string Path(const std::string& data_dir);

 private:
  ProducerIdAllocator(io::FileSystem* fs, std::string path, int64_t next)
      : fs_(fs), path_(std::move(path)), next_(next), reserved_end_(next) {}

  io::FileSystem* const fs_;
  const std::string path_;
  absl::Mutex mu_;
  int64_t next_ ABSL_GUARDED_BY(mu_);          // the id Next hands out next
  int64_t reserved_end_ ABSL_GUARDED_BY(mu_);  // ids below are durably reserved
  std::function<absl::StatusOr<int64_t>(int64_t)> reserve_ ABSL_GUARDED_BY(mu_);
};

}  // namespace strata::broker
