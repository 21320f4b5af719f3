// MemoryFileSystem: an io::FileSystem whose files live in memory. Fast and hermetic, for tests.
//
// It can also track durability so that FaultFileSystem (fault_file_system.h) can simulate
// crashes: for each file, what its last Sync made durable and every change since; for each
// directory, the entries its last SyncDir made durable and every change to them since (a file
// created, renamed or removed, a directory made or removed). Plain MemoryFileSystem does not pay
// for that tracking.
//
// Thread-safe. Mapping semantics match POSIX closely enough for the log: a mapping sees later
// writes to the file, survives Remove, and keeps the bytes of the buffer it was made from if the
// file is later replaced wholesale (as a crash does).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "io/file_system.h"

namespace strata::io {

namespace internal {
struct MemNode;
struct MemDir;
struct DirChange;
}

class MemoryFileSystem : public FileSystem {
 public:
  MemoryFileSystem() : MemoryFileSystem(/*track_durability=*/false) {}
  ~MemoryFileSystem() override;

  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override;
  absl::Status CreateDirs(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  absl::Status Remove(const std::string& path) override;
  absl::Status RemoveAll(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::StatusOr<bool> Exists(const std::string& path) override;
  absl::Status SyncDir(const std::string& path) override;
  // capacity_bytes minus the bytes of every file (unlimited by default: UINT64_MAX).
  absl::StatusOr<uint64_t> FreeBytes(const std::string& path) override;

  // A disk of `bytes`: a write, Truncate or Allocate that would make the files' sizes add up to
  // more fails with ENOSPC (io::IsNoSpace) and changes nothing, as on a full disk; removing or
  // shrinking files frees the space at once. Files already over it stay as they are.
  void SetCapacityBytes(uint64_t bytes);

  // Test helpers: the whole current contents of a file, and overwriting bytes in place (to
  // corrupt a file deliberately). Neither counts as a write for durability tracking.
  absl::StatusOr<std::vector<std::byte>> TEST_Contents(const std::string& path);
  absl::Status TEST_Overwrite(const std::string& path, uint64_t pos,
                              std::span<const std::byte> bytes);

 protected:
  explicit MemoryFileSystem(bool track_durability);

  // Fault hooks, overridden by FaultFileSystem. `bytes_to_apply` starts at bytes.size(); a hook
  // may lower it to tear the write. A non-OK status fails the operation after applying
  // `bytes_to_apply` bytes.
  virtual absl::Status OnWrite(const std::string& path, size_t* bytes_to_apply) {
    return absl::OkStatus();
  }
  virtual absl::Status OnSync(const std::string& path) { return absl::OkStatus(); }
  // Called before every operation that changes a file or a directory (a write through WriteAt or
  // a mapping, Sync, Truncate, Allocate, an Open that creates, Rename, Remove, each directory
  // CreateDirs makes and the sync of its parent, each unlink and rmdir of RemoveAll, SyncDir),
  // with the path it changes. A non-OK status fails the operation, which then changes nothing.
  virtual absl::Status OnMutation(const std::string& path) { return absl::OkStatus(); }

  // Replaces the namespace and every file's contents with what a crash would leave
  // (FaultFileSystem::Crash). First the namespace: `decide_dir(dir, pending_changes)` says how
  // many of a directory's entry changes since its last SyncDir survive, in order (the rest are
  // undone), starting from the root; a directory whose own entry did not survive is gone with
  // everything in it. Then the files that are left: `decide(path, pending_ops)` says how many of
  // a file's changes since its last Sync survive whole, and what fraction of the next one (if it
  // is a write) survives as a torn prefix.
  struct KeepDecision {
    size_t whole_ops = 0;
    double torn_fraction = 0;
  };
  // `revert_page()` is then asked, for each 4 KiB page the kept changes touched, whether that
  // page reverts to its synced contents (a page the kernel never wrote back).
  void CrashAll(
      const std::function<size_t(const std::string& dir, size_t pending_changes)>& decide_dir,
      const std::function<KeepDecision(const std::string& path, size_t pending_ops)>& decide,
      const std::function<bool()>& revert_page);

  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<internal::MemNode>> files_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirs_ ABSL_GUARDED_BY(mu_);
  // Durability tracking only: every directory, the root ("") included, with its durable entries
  // and the changes since (memory_file_system.cc).
  std::map<std::string, std::shared_ptr<internal::MemDir>> dir_nodes_ ABSL_GUARDED_BY(mu_);
  const bool track_durability_;
  // The sizes of the files in the namespace, added up, and the limit on them (SetCapacityBytes).
  std::atomic<uint64_t> used_bytes_{0};
  std::atomic<uint64_t> capacity_bytes_{UINT64_MAX};

  friend class MemFile;
  friend class MemMapping;

 private:
  absl::StatusOr<std::shared_ptr<internal::MemNode>> Find(const std::string& path);
  // Stops counting a file that lost its name.
  void Unlink(internal::MemNode& node);
  // Counts every named file at its current size (after a crash replaced their contents).
  void RecountUsedBytes();
  // Durability tracking. Records a change to the entries of directory `dir`.
  void RecordDirChangeLocked(const std::string& dir, internal::DirChange change)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes the current entries of `dir` its durable ones. NotFound if there is no such directory.
  absl::Status SyncDirLocked(const std::string& dir) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // CrashAll's namespace pass: `dir` (at `path`) keeps what decide_dir says of its changes, and
  // files_, dirs_ and dir_nodes_ get what it then holds, its subdirectories likewise.
  void RebuildNamespaceLocked(
      const std::string& path, const std::shared_ptr<internal::MemDir>& dir,
      const std::function<size_t(const std::string&, size_t)>& decide_dir)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
};

}  // namespace strata::io
