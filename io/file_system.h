// The one narrow interface through which Strata touches files and memory maps.
//
// Three implementations exist:
//   PosixFileSystem   real files (pread/pwrite/fdatasync/posix_fallocate/mmap).
//   MemoryFileSystem  files held in memory; fast, for unit and model tests.
//   FaultFileSystem   an in-memory file system that remembers what was synced (file bytes and
//                     directory entries) and can crash (drop unsynced bytes and directory
//                     changes, or keep a torn prefix of them), stop a process between any two
//                     operations, and fail writes or fsyncs with EIO/ENOSPC, driven by a seed so
//                     a failure replays.
//
// Durability follows POSIX: File::Sync makes a file's bytes durable but not its name; creating,
// renaming or removing a file is durable only once SyncDir of its directory returns.
//
// Thread-safety: FileSystem methods may be called from any thread. A File's methods may be called
// concurrently except that callers must not race writes to the same byte range. A Mapping's bytes
// may be read by many threads while one thread writes other ranges through Mapping::Write.
//
// Mappings outlive the File that made them (as with POSIX mmap after close) and stay valid until
// the last shared_ptr is dropped, even if the file is removed. A Mapping covers [0, size()) of the
// file as it was mapped; callers must not access bytes past the file's current end (on POSIX that
// raises SIGBUS), which is why the log never shrinks a file below bytes a reader may touch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/status.h"

namespace strata::io {

class Mapping {
 public:
  virtual ~Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  const std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  bool writable() const { return writable_; }

  // Copies `bytes` into the mapping at `pos`. Only for writable mappings. Real mappings cannot
  // fail here (the file is preallocated); the fault injector can fail or tear the write.
  virtual absl::Status Write(uint64_t pos, std::span<const std::byte> bytes) = 0;

  // A hint to fault in the pages of [pos, pos + len) ahead of writes, so the append path does not
  // take one page fault per 4 KiB. May do nothing.
  virtual void Prefault(uint64_t pos, uint64_t len) {}

 protected:
  Mapping(const std::byte* data, size_t size, bool writable)
      : data_(data), size_(size), writable_(writable) {}
  const std::byte* data_;
  size_t size_;
  bool writable_;
};

enum class OpenMode {
  kReadOnly,      // must exist
  kReadWrite,     // must exist
  kCreate,        // read-write, created empty if missing
  kCreateNew,     // read-write, AlreadyExists if present
};

class File {
 public:
  virtual ~File() = default;

  virtual const std::string& path() const = 0;

  // Reads up to out.size() bytes at `pos`; returns the count read (short only at end of file).
  virtual absl::StatusOr<size_t> ReadAt(uint64_t pos, std::span<std::byte> out) = 0;
  // Writes all of `bytes` at `pos`, growing the file if needed.
  virtual absl::Status WriteAt(uint64_t pos, std::span<const std::byte> bytes) = 0;
  // Makes every byte written so far (by WriteAt or through a Mapping) durable (fdatasync).
  virtual absl::Status Sync() = 0;
  virtual absl::StatusOr<uint64_t> Size() = 0;
  // Sets the file size; growing fills with zeros.
  virtual absl::Status Truncate(uint64_t size) = 0;
  // Reserves disk space so the file is at least `size` bytes of zeros past its data, and later
  // writes through a mapping cannot fail for lack of space. ResourceExhausted on ENOSPC.
  virtual absl::Status Allocate(uint64_t size) = 0;
  // Maps [0, size) of the file; size must not exceed the file's current size.
  virtual absl::StatusOr<std::shared_ptr<Mapping>> Map(uint64_t size, bool writable) = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  virtual absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) = 0;
  // Creates the directory and any missing parents, syncing the parent of each one it creates so
  // that it is durable. OK if it exists (an existing directory's parent is not synced).
  virtual absl::Status CreateDirs(const std::string& path) = 0;
  // Names (not paths) of the entries directly inside `path`, sorted.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual absl::Status Remove(const std::string& path) = 0;
  // Removes a directory and everything below it. OK if it does not exist.
  virtual absl::Status RemoveAll(const std::string& path) = 0;
  // Atomically replaces `to` with `from`.
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  virtual absl::StatusOr<bool> Exists(const std::string& path) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual absl::Status SyncDir(const std::string& path) = 0;
  // Bytes this process may still allocate on the file system holding `path` (statvfs f_bavail).
  virtual absl::StatusOr<uint64_t> FreeBytes(const std::string& path) = 0;
};

// The status for a failed system call: absl::ErrnoToStatus, and for ENOSPC and EDQUOT (no space
// left on the device, or over quota) marked so that IsNoSpace recognises it however the layers
// above rename the code or reword the message (they must keep the payload: copy the status, or
// use WithContext).
absl::Status ErrnoError(int err, absl::string_view message);
// ResourceExhausted with `message`, marked as "no space left" like ErrnoError(ENOSPC): for a write
// refused up front because the disk has too little room for it.
absl::Status NoSpaceError(absl::string_view message);
// True for a status that ErrnoError marked as "no space left": the write did not happen for want
// of disk space, and may succeed once space is freed.
bool IsNoSpace(const absl::Status& st);
// `st` with `context: ` put before its message, keeping its code and payloads.
absl::Status WithContext(const absl::Status& st, absl::string_view context);

// The process's real file system.
FileSystem& RealFileSystem();

// Writes `bytes` to `path` atomically and durably: a temporary file, fdatasync, rename, and a sync
// of the directory. Used for small metadata files (checkpoints, markers).
absl::Status WriteFileAtomic(FileSystem& fs, const std::string& path,
                             std::span<const std::byte> bytes);
// Reads a whole (small) file.
absl::StatusOr<std::vector<std::byte>> ReadWholeFile(FileSystem& fs, const std::string& path);

// Joins two path pieces with a single '/'.
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace strata::io
