// FaultFileSystem: an in-memory file system that injects the faults storage code must survive.
//
//  - Crash(kDropUnsynced): every byte not made durable by a Sync is gone, as after power loss.
//  - Crash(kTornUnsynced): a seeded random prefix of the changes since the last Sync survives,
//    the last of them possibly torn part-way, as after power loss during sequential writes.
//  - Crash(kUnorderedUnsynced): every change since the last Sync is applied, then a random half
//    of the 4 KiB pages they touched revert to their synced contents, as when the kernel wrote
//    some dirty pages back and not others.
//  - FailNextWrites / FailNextSyncs, or a per-operation error probability: a write (WriteAt or a
//    Mapping::Write) or an fsync returns EIO or ENOSPC. A failed write applies a random prefix of
//    its bytes first (a torn write).
//
// All randomness comes from the seed, so a failing test replays exactly. Creation, rename and
// removal of files are treated as durable at once (directory syncs are not modelled).
// Thread-safe.
#pragma once

#include <cerrno>
#include <cstdint>
#include <random>
#include <string>

#include "io/memory_file_system.h"

namespace strata::io {

enum class CrashMode { kDropUnsynced, kTornUnsynced, kUnorderedUnsynced };
inline constexpr CrashMode kAllCrashModes[] = {CrashMode::kDropUnsynced, CrashMode::kTornUnsynced,
                                               CrashMode::kUnorderedUnsynced};

class FaultFileSystem final : public MemoryFileSystem {
 public:
  explicit FaultFileSystem(uint64_t seed) : MemoryFileSystem(true), rng_(seed) {}

  void Crash(CrashMode mode);

  // The next `count` writes (or syncs) fail with `err` (EIO or ENOSPC). With `path_suffix`,
  // only operations on files whose path ends with it count and fail.
  void FailNextWrites(int count, int err = EIO);
  void FailNextSyncs(int count, int err = EIO, std::string path_suffix = "");
  // Each write (sync) fails with this probability, independently, from the seeded generator.
  void SetErrorProbabilities(double write_error, double sync_error, int err = EIO);

  int64_t injected_errors() const;

 protected:
  absl::Status OnWrite(const std::string& path, size_t* bytes_to_apply) override;
  absl::Status OnSync(const std::string& path) override;

 private:
  mutable absl::Mutex fault_mu_;
  std::mt19937_64 rng_ ABSL_GUARDED_BY(fault_mu_);
  int fail_writes_ ABSL_GUARDED_BY(fault_mu_) = 0;
  int fail_syncs_ ABSL_GUARDED_BY(fault_mu_) = 0;
  std::string fail_syncs_suffix_ ABSL_GUARDED_BY(fault_mu_);
  int write_err_ ABSL_GUARDED_BY(fault_mu_) = EIO;
  int sync_err_ ABSL_GUARDED_BY(fault_mu_) = EIO;
  double write_error_probability_ ABSL_GUARDED_BY(fault_mu_) = 0;
  double sync_error_probability_ ABSL_GUARDED_BY(fault_mu_) = 0;
  int64_t injected_ ABSL_GUARDED_BY(fault_mu_) = 0;
};

}  // namespace strata::io
