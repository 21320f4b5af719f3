// FaultFileSystem: an in-memory file system that injects the faults storage code must survive.
//
// Crash(mode) is a power loss. What survives it follows POSIX with no luck assumed:
//  - A file's bytes are durable once File::Sync (fdatasync) returns; its *name* is not. Every
//    change to a directory's entries (a file created by Open, Rename, Remove, a directory made
//    by CreateDirs, RemoveAll's unlinks and rmdirs) is durable only once SyncDir of that
//    directory returns. CreateDirs syncs the parent of each directory it makes, as
//    PosixFileSystem does, but a crash can land between the mkdir and that sync.
//  - So after a crash, a file created and never made durable in its directory is gone, even if
//    its bytes were synced; an unsynced rename is undone (the file is back under its old name,
//    and what the target name durably held is back too); an unsynced unlink is undone (the file
//    is back with its durable bytes); a directory whose entry in its parent was never made
//    durable is gone with everything in it.
//  - Crash(kDropUnsynced): every byte not made durable by a Sync is gone, and every directory's
//    entries are what its last SyncDir made durable.
//  - Crash(kTornUnsynced): a seeded random prefix of each file's changes since its last Sync
//    survives, the last of them possibly torn part-way, as after power loss during sequential
//    writes; and a random prefix, in order, of each directory's entry changes since its last
//    SyncDir, as a journaling file system commits its metadata in order (some of it may reach
//    the disk without any fsync).
//  - Crash(kUnorderedUnsynced): every change to a file since its last Sync is applied, then a
//    random half of the 4 KiB pages they touched revert to their synced contents, as when the
//    kernel wrote some dirty pages back and not others; directories as in kTornUnsynced.
//
// Process death: CrashAfterOps(n) lets the next n operations that change a file or directory
// (a write through WriteAt or a mapping, Sync, Truncate, Allocate, an Open that creates, Rename,
// Remove, SyncDir, each mkdir of CreateDirs and the sync of its parent, each unlink and rmdir of
// RemoveAll) happen, and fails every one after them with EIO, changing nothing, as a dead process
// does nothing more. So a test can stop a log inside Roll, Close, recovery or a compaction
// between any two file operations, then abandon it (Log::TEST_Abandon) and either Crash (power
// loss as well) or Restart (the process alone died: the page cache keeps everything).
// mutating_ops() counts those operations, to find how many a log operation makes.
//
// I/O errors: FailNextWrites / FailNextSyncs, or a per-operation error probability: a write
// (WriteAt or a Mapping::Write) or an fsync returns EIO or ENOSPC. A failed write applies a random
// prefix of its bytes first (a torn write). SyncDir is not failed by these.
//
// All randomness comes from the seed, so a failing test replays exactly. Thread-safe.
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

  // Power loss (see above); the machine then restarts, undoing CrashAfterOps.
  void Crash(CrashMode mode);

  // After `ops` more operations that change a file or directory, the process dies: every later
  // one fails with EIO and changes nothing, until Crash or Restart. Reads still work.
  void CrashAfterOps(int64_t ops);
  // The dead process restarts without a power loss: operations work again and every change
  // made so far (durable or not) is still there, as in the page cache.
  void Restart();
  // True once CrashAfterOps has run out (and before Crash or Restart).
  bool dead() const;
  // Operations that changed a file or directory so far (those that failed before changing
  // anything are not counted).
  int64_t mutating_ops() const;

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
  absl::Status OnMutation(const std::string& path) override;

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
  int64_t ops_until_death_ ABSL_GUARDED_BY(fault_mu_) = -1;  // -1: never
  int64_t mutating_ops_ ABSL_GUARDED_BY(fault_mu_) = 0;
};

}  // namespace strata::io
