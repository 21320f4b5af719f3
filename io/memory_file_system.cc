// MemoryFileSystem: files in memory, with optional durability tracking for FaultFileSystem.
#include "io/memory_file_system.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"

namespace strata::io {
namespace internal {

// One change made since the last successful Sync: a write of `bytes` at `pos`, or (when `resize`
// is set) a change of the file size to `pos`.
struct PendingOp {
  bool resize = false;
  uint64_t pos = 0;
  std::vector<std::byte> bytes;
};

struct MemNode {
  absl::Mutex mu;
  // Current contents; size() is the file size. Replaced wholesale (never reallocated in place)
  // when it must grow past its capacity while mapped, so live mappings keep valid memory.
  std::shared_ptr<std::vector<std::byte>> data ABSL_GUARDED_BY(mu) =
      std::make_shared<std::vector<std::byte>>();
  // Durability tracking (FaultFileSystem only).
  std::vector<std::byte> durable ABSL_GUARDED_BY(mu);
  std::vector<PendingOp> pending ABSL_GUARDED_BY(mu);
  // The bytes of this file counted in MemoryFileSystem::used_bytes_: its size while it has a
  // name, 0 once removed (space is freed at unlink, a simplification of POSIX's last close).
  uint64_t charged ABSL_GUARDED_BY(mu) = 0;
  bool unlinked ABSL_GUARDED_BY(mu) = false;
};

// What a directory entry names: a file or a directory.
using MemEntry = std::variant<std::shared_ptr<MemNode>, std::shared_ptr<MemDir>>;

// One change to a directory's entries (durability tracking): each path (a full path, like every
// key here) set to an entry, or removed (nullopt). A rename within one directory is one change,
// so a crash keeps it whole or not at all.
struct DirChange {
  std::vector<std::pair<std::string, std::optional<MemEntry>>> sets;
};

// A directory (durability tracking). Guarded by MemoryFileSystem::mu_. The current entries are
// MemoryFileSystem::files_ and dir_nodes_; these are the ones a crash goes back to.
struct MemDir {
  std::map<std::string, MemEntry> durable;  // as of the last SyncDir
  std::vector<DirChange> pending;           // made since, in order
};

}  // namespace internal

using internal::DirChange;
using internal::MemDir;
using internal::MemEntry;
using internal::MemNode;
using internal::PendingOp;

namespace {

// The directory holding `path`; "" is the root.
std::string Parent(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

// Makes the first `count` of the directory's pending changes durable and forgets the rest.
void ApplyDirChanges(MemDir& dir, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    for (auto& [entry_path, entry] : dir.pending[i].sets) {
      if (entry) {
        dir.durable[entry_path] = *entry;
      } else {
        dir.durable.erase(entry_path);
      }
    }
  }
  dir.pending.clear();
}

// The key of a directory given to SyncDir: "/" and "." (what a caller computes as the parent of
// "/x" or "x") are the root.
std::string DirKey(const std::string& path) {
  return path == "/" || path == "." ? std::string() : path;
}

// Resizes the node's buffer, replacing it if it is shared with a mapping and must reallocate.
void ResizeLocked(MemNode& node, uint64_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(node.mu) {
  auto& buf = node.data;
  if (size > buf->capacity() && buf.use_count() > 1) {
    auto fresh = std::make_shared<std::vector<std::byte>>();
    fresh->reserve(std::max<uint64_t>(size, buf->size() * 2));
    fresh->assign(buf->begin(), buf->end());
    buf = std::move(fresh);
  }
  buf->resize(size);
}

}  // namespace

// Counts `node` as `size` bytes in the file system's total. ENOSPC (changing nothing) when it
// grows past the capacity.
absl::Status ChargeLocked(std::atomic<uint64_t>& used, uint64_t capacity, MemNode& node,
                          uint64_t size, const std::string& path)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(node.mu) {
  if (node.unlinked) return absl::OkStatus();
  if (size <= node.charged) {
    used.fetch_sub(node.charged - size, std::memory_order_relaxed);
    node.charged = size;
    return absl::OkStatus();
  }
  const uint64_t more = size - node.charged;
  uint64_t now = used.load(std::memory_order_relaxed);
  do {
    if (now + more > capacity) {
      return ErrnoError(ENOSPC, absl::StrCat("growing ", path, " to ", size, " bytes: ", now,
                                             " of the disk's ", capacity, " bytes are in use"));
    }
  } while (!used.compare_exchange_weak(now, now + more, std::memory_order_relaxed));
  node.charged = size;
  return absl::OkStatus();
}

void UnchargeLocked(std::atomic<uint64_t>& used, MemNode& node)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(node.mu) {
  used.fetch_sub(node.charged, std::memory_order_relaxed);
  node.charged = 0;
  node.unlinked = true;
}

class MemMapping final : public Mapping {
 public:
  MemMapping(MemoryFileSystem* fs, std::string path, std::shared_ptr<MemNode> node,
             std::shared_ptr<std::vector<std::byte>> buf, size_t size, bool writable)
      : Mapping(buf->data(), size, writable),
        fs_(fs),
        path_(std::move(path)),
        node_(std::move(node)),
        buf_(std::move(buf)) {}

  absl::Status Write(uint64_t pos, std::span<const std::byte> bytes) override {
    if (!writable_) return absl::FailedPreconditionError("write to a read-only mapping");
    if (pos > size_ || bytes.size() > size_ - pos) {
      return absl::OutOfRangeError(absl::StrCat("mapping write [", pos, ", +", bytes.size(),
                                                ") past mapping size ", size_));
    }
    STRATA_RETURN_IF_ERROR(fs_->OnMutation(path_));
    size_t apply = bytes.size();
    absl::Status fault = fs_->OnWrite(path_, &apply);
    absl::MutexLock lock(&node_->mu);
    if (node_->data != buf_) {
      return absl::FailedPreconditionError(
          absl::StrCat("mapping of ", path_, " is stale (the file was replaced)"));
    }
    std::memcpy(buf_->data() + pos, bytes.data(), apply);
    if (fs_->track_durability_ && apply > 0) {
      node_->pending.push_back(
          PendingOp{false, pos, std::vector<std::byte>(bytes.begin(), bytes.begin() + apply)});
    }
    return fault;
  }

 private:
  MemoryFileSystem* fs_;
  std::string path_;
  std::shared_ptr<MemNode> node_;
  std::shared_ptr<std::vector<std::byte>> buf_;
};

class MemFile final : public File {
 public:
  MemFile(MemoryFileSystem* fs, std::string path, std::shared_ptr<MemNode> node, bool writable)
      : fs_(fs), path_(std::move(path)), node_(std::move(node)), writable_(writable) {}

  const std::string& path() const override { return path_; }

  absl::StatusOr<size_t> ReadAt(uint64_t pos, std::span<std::byte> out) override {
    absl::MutexLock lock(&node_->mu);
    const auto& buf = *node_->data;
    if (pos >= buf.size()) return size_t{0};
    size_t n = std::min<uint64_t>(out.size(), buf.size() - pos);
    std::memcpy(out.data(), buf.data() + pos, n);
    return n;
  }

  absl::Status WriteAt(uint64_t pos, std::span<const std::byte> bytes) override {
    STRATA_RETURN_IF_ERROR(CheckWritable());
    STRATA_RETURN_IF_ERROR(fs_->OnMutation(path_));
    size_t apply = bytes.size();
    absl::Status fault = fs_->OnWrite(path_, &apply);
    absl::MutexLock lock(&node_->mu);
    if (apply > 0) {
      if (pos + apply > node_->data->size()) {
        STRATA_RETURN_IF_ERROR(Charge(pos + apply));
        ResizeLocked(*node_, pos + apply);
      }
      std::memcpy(node_->data->data() + pos, bytes.data(), apply);
      if (fs_->track_durability_) {
        node_->pending.push_back(
            PendingOp{false, pos, std::vector<std::byte>(bytes.begin(), bytes.begin() + apply)});
      }
    }
    return fault;
  }

  absl::Status Sync() override {
    STRATA_RETURN_IF_ERROR(fs_->OnMutation(path_));
    STRATA_RETURN_IF_ERROR(fs_->OnSync(path_));
    if (fs_->track_durability_) {
      absl::MutexLock lock(&node_->mu);
      node_->durable = *node_->data;
      node_->pending.clear();
    }
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Size() override {
    absl::MutexLock lock(&node_->mu);
    return uint64_t(node_->data->size());
  }

  absl::Status Truncate(uint64_t size) override {
    STRATA_RETURN_IF_ERROR(CheckWritable());
    STRATA_RETURN_IF_ERROR(fs_->OnMutation(path_));
    absl::MutexLock lock(&node_->mu);
    STRATA_RETURN_IF_ERROR(Charge(size));
    ResizeLocked(*node_, size);
    if (fs_->track_durability_) node_->pending.push_back(PendingOp{true, size, {}});
    return absl::OkStatus();
  }

  absl::Status Allocate(uint64_t size) override {
    STRATA_RETURN_IF_ERROR(CheckWritable());
    STRATA_RETURN_IF_ERROR(fs_->OnMutation(path_));
    absl::MutexLock lock(&node_->mu);
    if (node_->data->size() >= size) return absl::OkStatus();
    STRATA_RETURN_IF_ERROR(Charge(size));
    ResizeLocked(*node_, size);
    if (fs_->track_durability_) node_->pending.push_back(PendingOp{true, size, {}});
    return absl::OkStatus();
  }

  absl::StatusOr<std::shared_ptr<Mapping>> Map(uint64_t size, bool writable) override {
    if (writable) STRATA_RETURN_IF_ERROR(CheckWritable());
    absl::MutexLock lock(&node_->mu);
    if (size > node_->data->size()) {
      return absl::InvalidArgumentError(absl::StrCat("cannot map ", size, " bytes of ", path_,
                                                     ": the file has ", node_->data->size()));
    }
    return std::shared_ptr<Mapping>(
        new MemMapping(fs_, path_, node_, node_->data, size, writable));
  }

 private:
  absl::Status CheckWritable() {
    if (!writable_) return absl::PermissionDeniedError(path_ + " is open read-only");
    return absl::OkStatus();
  }
  absl::Status Charge(uint64_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(node_->mu) {
    return ChargeLocked(fs_->used_bytes_, fs_->capacity_bytes_.load(std::memory_order_relaxed),
                        *node_, size, path_);
  }

  MemoryFileSystem* fs_;
  std::string path_;
  std::shared_ptr<MemNode> node_;
  bool writable_;
};

MemoryFileSystem::MemoryFileSystem(bool track_durability) : track_durability_(track_durability) {
  if (track_durability_) {
    absl::MutexLock lock(&mu_);
    dir_nodes_[""] = std::make_shared<MemDir>();  // the root, which always exists
  }
}
MemoryFileSystem::~MemoryFileSystem() = default;

absl::StatusOr<std::shared_ptr<MemNode>> MemoryFileSystem::Find(const std::string& path) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(path);
  if (it == files_.end()) return absl::NotFoundError(path + ": no such file");
  return it->second;
}

absl::StatusOr<std::unique_ptr<File>> MemoryFileSystem::Open(const std::string& path,
                                                             OpenMode mode) {
  absl::MutexLock lock(&mu_);
  std::string parent = Parent(path);
  if (!parent.empty() && !dirs_.count(parent)) {
    return absl::NotFoundError(absl::StrCat("open ", path, ": no such directory ", parent));
  }
  auto it = files_.find(path);
  if (it == files_.end()) {
    if (mode == OpenMode::kReadOnly || mode == OpenMode::kReadWrite) {
      return absl::NotFoundError(absl::StrCat("open ", path, ": no such file"));
    }
    STRATA_RETURN_IF_ERROR(OnMutation(path));
    it = files_.emplace(path, std::make_shared<MemNode>()).first;
    if (track_durability_) RecordDirChangeLocked(parent, {{{path, it->second}}});
  } else if (mode == OpenMode::kCreateNew) {
    return absl::AlreadyExistsError(absl::StrCat("open ", path, ": file exists"));
  }
  return std::unique_ptr<File>(
      new MemFile(this, path, it->second, mode != OpenMode::kReadOnly));
}

absl::Status MemoryFileSystem::CreateDirs(const std::string& path) {
  absl::MutexLock lock(&mu_);
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      std::string prefix = path.substr(0, i);
      if (files_.count(prefix)) return absl::FailedPreconditionError(prefix + " is a file");
      if (dirs_.count(prefix)) continue;
      // As PosixFileSystem does: mkdir, then sync the parent so that the new directory's entry is
      // durable. Two operations, so a crash can land between them.
      STRATA_RETURN_IF_ERROR(OnMutation(prefix));
      dirs_.insert(prefix);
      const std::string parent = Parent(prefix);
      if (track_durability_) {
        auto dir = std::make_shared<MemDir>();
        dir_nodes_[prefix] = dir;
        RecordDirChangeLocked(parent, {{{prefix, dir}}});
      }
      STRATA_RETURN_IF_ERROR(OnMutation(parent));
      if (track_durability_) STRATA_RETURN_IF_ERROR(SyncDirLocked(parent));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> MemoryFileSystem::ListDir(const std::string& path) {
  absl::MutexLock lock(&mu_);
  if (!dirs_.count(path)) return absl::NotFoundError(absl::StrCat("opendir ", path, ": no such directory"));
  std::string prefix = path + "/";
  std::set<std::string> names;
  auto collect = [&](const std::string& p) {
    if (!absl::StartsWith(p, prefix)) return;
    std::string rest = p.substr(prefix.size());
    if (!rest.empty() && rest.find('/') == std::string::npos) names.insert(rest);
  };
  for (const auto& [p, node] : files_) collect(p);
  for (const auto& d : dirs_) collect(d);
  return std::vector<std::string>(names.begin(), names.end());
}

absl::Status MemoryFileSystem::Remove(const std::string& path) {
  absl::MutexLock lock(&mu_);
  auto found = files_.find(path);
  if (found == files_.end()) {
    return absl::NotFoundError(absl::StrCat("unlink ", path, ": no such file"));
  }
  STRATA_RETURN_IF_ERROR(OnMutation(path));
  Unlink(*found->second);
  files_.erase(found);
  if (track_durability_) RecordDirChangeLocked(Parent(path), {{{path, std::nullopt}}});
  return absl::OkStatus();
}

void MemoryFileSystem::Unlink(MemNode& node) {
  absl::MutexLock lock(&node.mu);
  UnchargeLocked(used_bytes_, node);
}

absl::StatusOr<uint64_t> MemoryFileSystem::FreeBytes(const std::string& path) {
  const uint64_t capacity = capacity_bytes_.load(std::memory_order_relaxed);
  const uint64_t used = used_bytes_.load(std::memory_order_relaxed);
  return capacity > used ? capacity - used : 0;
}

void MemoryFileSystem::SetCapacityBytes(uint64_t bytes) {
  capacity_bytes_.store(bytes, std::memory_order_relaxed);
}

void MemoryFileSystem::RecountUsedBytes() {
  absl::MutexLock lock(&mu_);
  uint64_t used = 0;
  for (auto& [path, node] : files_) {
    absl::MutexLock node_lock(&node->mu);
    node->unlinked = false;
    node->charged = node->data->size();
    used += node->charged;
  }
  used_bytes_.store(used, std::memory_order_relaxed);
}

absl::Status MemoryFileSystem::RemoveAll(const std::string& path) {
  absl::MutexLock lock(&mu_);
  if (auto found = files_.find(path); found != files_.end()) {
    STRATA_RETURN_IF_ERROR(OnMutation(path));
    Unlink(*found->second);
    files_.erase(found);
    if (track_durability_) RecordDirChangeLocked(Parent(path), {{{path, std::nullopt}}});
    return absl::OkStatus();
  }
  if (!dirs_.count(path)) return absl::OkStatus();
  // As PosixFileSystem does, one unlink or rmdir at a time, each directory emptied before it is
  // removed: a longer path is never an ancestor of a shorter one, so longest first does that.
  const std::string prefix = path + "/";
  std::vector<std::string> doomed_dirs = {path};
  for (auto it = dirs_.lower_bound(prefix); it != dirs_.end() && absl::StartsWith(*it, prefix);
       ++it) {
    doomed_dirs.push_back(*it);
  }
  std::stable_sort(doomed_dirs.begin(), doomed_dirs.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& dir : doomed_dirs) {
    const std::string inside = dir + "/";
    for (auto it = files_.lower_bound(inside);
         it != files_.end() && absl::StartsWith(it->first, inside);) {
      STRATA_RETURN_IF_ERROR(OnMutation(it->first));
      if (track_durability_) RecordDirChangeLocked(dir, {{{it->first, std::nullopt}}});
      Unlink(*it->second);
      it = files_.erase(it);
    }
    STRATA_RETURN_IF_ERROR(OnMutation(dir));
    dirs_.erase(dir);
    if (track_durability_) {
      RecordDirChangeLocked(Parent(dir), {{{dir, std::nullopt}}});
      dir_nodes_.erase(dir);
    }
  }
  return absl::OkStatus();
}

absl::Status MemoryFileSystem::Rename(const std::string& from, const std::string& to) {
  absl::MutexLock lock(&mu_);
  auto it = files_.find(from);
  if (it == files_.end()) return absl::NotFoundError(absl::StrCat("rename ", from, ": no such file"));
  const std::string from_dir = Parent(from), to_dir = Parent(to);
  if (!to_dir.empty() && !dirs_.count(to_dir)) {
    return absl::NotFoundError(absl::StrCat("rename to ", to, ": no such directory ", to_dir));
  }
  STRATA_RETURN_IF_ERROR(OnMutation(to));
  auto node = it->second;
  files_.erase(it);
  if (auto target = files_.find(to); target != files_.end() && target->second != node) {
    Unlink(*target->second);  // the file `to` named is replaced
  }
  files_[to] = node;
  if (track_durability_) {
    if (from_dir == to_dir) {
      RecordDirChangeLocked(from_dir, {{{from, std::nullopt}, {to, node}}});
    } else {
      // Recorded in each directory: a crash may keep either half, as a file system that does not
      // journal renames across directories might.
      RecordDirChangeLocked(from_dir, {{{from, std::nullopt}}});
      RecordDirChangeLocked(to_dir, {{{to, node}}});
    }
  }
  return absl::OkStatus();
}

absl::Status MemoryFileSystem::SyncDir(const std::string& path) {
  const std::string dir = DirKey(path);
  absl::MutexLock lock(&mu_);
  if (!track_durability_) return absl::OkStatus();
  STRATA_RETURN_IF_ERROR(OnMutation(dir));
  return SyncDirLocked(dir);
}

void MemoryFileSystem::RecordDirChangeLocked(const std::string& dir, DirChange change) {
  dir_nodes_.at(dir)->pending.push_back(std::move(change));
}

absl::Status MemoryFileSystem::SyncDirLocked(const std::string& dir) {
  auto found = dir_nodes_.find(dir);
  if (found == dir_nodes_.end()) {
    return absl::NotFoundError(absl::StrCat("sync directory ", dir, ": no such directory"));
  }
  // The durable entries with every change since applied are the current entries; applying the
  // changes costs what they are, not what the directory holds.
  ApplyDirChanges(*found->second, found->second->pending.size());
  return absl::OkStatus();
}

absl::StatusOr<bool> MemoryFileSystem::Exists(const std::string& path) {
  absl::MutexLock lock(&mu_);
  return files_.count(path) > 0 || dirs_.count(path) > 0;
}

absl::StatusOr<std::vector<std::byte>> MemoryFileSystem::TEST_Contents(const std::string& path) {
  STRATA_ASSIGN_OR_RETURN(auto node, Find(path));
  absl::MutexLock lock(&node->mu);
  return *node->data;
}

absl::Status MemoryFileSystem::TEST_Overwrite(const std::string& path, uint64_t pos,
                                              std::span<const std::byte> bytes) {
  STRATA_ASSIGN_OR_RETURN(auto node, Find(path));
  absl::MutexLock lock(&node->mu);
  if (pos + bytes.size() > node->data->size()) {
    return absl::OutOfRangeError("TEST_Overwrite past the end of " + path);
  }
  std::memcpy(node->data->data() + pos, bytes.data(), bytes.size());
  if (track_durability_) {
    // A deliberate corruption is "already on disk": apply it to the durable copy too.
    if (pos + bytes.size() <= node->durable.size()) {
      std::memcpy(node->durable.data() + pos, bytes.data(), bytes.size());
    }
  }
  return absl::OkStatus();
}

void MemoryFileSystem::RebuildNamespaceLocked(
    const std::string& path, const std::shared_ptr<MemDir>& dir,
    const std::function<size_t(const std::string&, size_t)>& decide_dir) {
  const size_t n = dir->pending.size();
  ApplyDirChanges(*dir, n == 0 ? 0 : std::min(decide_dir(path, n), n));
  dir_nodes_[path] = dir;
  if (!path.empty()) dirs_.insert(path);
  for (const auto& [entry_path, entry] : dir->durable) {
    if (const auto* file = std::get_if<std::shared_ptr<MemNode>>(&entry)) {
      files_[entry_path] = *file;
    } else {
      RebuildNamespaceLocked(entry_path, std::get<std::shared_ptr<MemDir>>(entry), decide_dir);
    }
  }
}

void MemoryFileSystem::CrashAll(
    const std::function<size_t(const std::string&, size_t)>& decide_dir,
    const std::function<KeepDecision(const std::string&, size_t)>& decide,
    const std::function<bool()>& revert_page) {
  std::vector<std::pair<std::string, std::shared_ptr<MemNode>>> nodes;
  {
    absl::MutexLock lock(&mu_);
    if (track_durability_) {
      // The namespace first: each directory back to its durable entries plus the changes that
      // survive, from the root down. Files and directories no surviving entry names are gone.
      std::shared_ptr<MemDir> root = dir_nodes_.at("");
      files_.clear();
      dirs_.clear();
      dir_nodes_.clear();
      RebuildNamespaceLocked("", root, decide_dir);
    }
    // Each file once, even if a crash left it under two names (a rename across directories).
    std::set<MemNode*> seen;
    for (const auto& [path, node] : files_) {
      if (seen.insert(node.get()).second) nodes.emplace_back(path, node);
    }
  }
  for (auto& [path, node] : nodes) {
    absl::MutexLock lock(&node->mu);
    // Rebuild from the durable image, replaying a prefix of the changes made since.
    auto fresh = std::make_shared<std::vector<std::byte>>(node->durable);
    size_t n = node->pending.size();
    KeepDecision keep{};
    size_t torn_bytes = 0;
    if (n > 0) {
      keep = decide(path, n);
      keep.whole_ops = std::min(keep.whole_ops, n);
      if (keep.whole_ops < n && !node->pending[keep.whole_ops].resize) {
        double f = std::clamp(keep.torn_fraction, 0.0, 1.0);
        torn_bytes = size_t(f * double(node->pending[keep.whole_ops].bytes.size()));
      }
    }
    auto apply = [&](const PendingOp& op, size_t len) {
      if (op.resize) {
        fresh->resize(op.pos);
        return;
      }
      if (op.pos + len > fresh->size()) fresh->resize(op.pos + len);
      std::memcpy(fresh->data() + op.pos, op.bytes.data(), len);
    };
    std::set<uint64_t> touched_pages;
    for (size_t i = 0; i < keep.whole_ops; ++i) {
      const PendingOp& op = node->pending[i];
      apply(op, op.bytes.size());
      for (uint64_t p = op.pos / 4096; !op.resize && p * 4096 < op.pos + op.bytes.size(); ++p) {
        touched_pages.insert(p);
      }
    }
    if (torn_bytes > 0) apply(node->pending[keep.whole_ops], torn_bytes);
    for (uint64_t page : touched_pages) {
      if (!revert_page()) continue;
      for (uint64_t b = page * 4096; b < (page + 1) * 4096 && b < fresh->size(); ++b) {
        (*fresh)[b] = b < node->durable.size() ? node->durable[b] : std::byte{0};
      }
    }
    node->data = std::move(fresh);
    node->durable = *node->data;
    node->pending.clear();
  }
  RecountUsedBytes();
}

}  // namespace strata::io
