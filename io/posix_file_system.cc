// PosixFileSystem: the real implementation of io::FileSystem.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "io/file_system.h"

namespace strata::io {
namespace {

absl::Status Errno(int err, const char* what, const std::string& path) {
  return ErrnoError(err, absl::StrCat(what, " ", path));
}

class PosixMapping final : public Mapping {
 public:
  PosixMapping(std::byte* data, size_t size, bool writable)
      : Mapping(data, size, writable), mutable_data_(data) {}
  ~PosixMapping() override {
    if (size_ > 0) ::munmap(mutable_data_, size_);
  }

  absl::Status Write(uint64_t pos, std::span<const std::byte> bytes) override {
    if (!writable_) return absl::FailedPreconditionError("write to a read-only mapping");
    if (pos > size_ || bytes.size() > size_ - pos) {
      return absl::OutOfRangeError(absl::StrCat("mapping write [", pos, ", +", bytes.size(),
                                                ") past mapping size ", size_));
    }
    std::memcpy(mutable_data_ + pos, bytes.data(), bytes.size());
    return absl::OkStatus();
  }

  void Prefault(uint64_t pos, uint64_t len) override {
#ifdef MADV_POPULATE_WRITE
    if (!writable_ || pos >= size_) return;
    const uint64_t page = 4096;
    uint64_t start = pos & ~(page - 1);
    uint64_t end = std::min<uint64_t>(size_, pos + len);
    if (end <= start) return;
    // Best effort: an old kernel answers EINVAL and the append path simply takes the faults.
    // POPULATE_WRITE (not _READ) so the later write takes no write-protect fault; it dirties the
    // zeroed pages, but measured device writes grow only ~5% (docs/performance.md).
    ::madvise(mutable_data_ + start, end - start, MADV_POPULATE_WRITE);
#endif
  }

 private:
  std::byte* mutable_data_;
};

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override { ::close(fd_); }

  const std::string& path() const override { return path_; }

  absl::StatusOr<size_t> ReadAt(uint64_t pos, std::span<std::byte> out) override {
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done, off_t(pos + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno(errno, "pread", path_);
      }
      if (n == 0) break;
      done += size_t(n);
    }
    return done;
  }

  absl::Status WriteAt(uint64_t pos, std::span<const std::byte> bytes) override {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, off_t(pos + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Errno(errno, "pwrite", path_);
      }
      done += size_t(n);
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return Errno(errno, "fdatasync", path_);
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Errno(errno, "fstat", path_);
    return uint64_t(st.st_size);
  }

  absl::Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, off_t(size)) != 0) return Errno(errno, "ftruncate", path_);
    return absl::OkStatus();
  }

  absl::Status Allocate(uint64_t size) override {
    STRATA_ASSIGN_OR_RETURN(uint64_t current, Size());
    if (current >= size) return absl::OkStatus();
    int err = ::posix_fallocate(fd_, off_t(current), off_t(size - current));
    if (err != 0) return Errno(err, "posix_fallocate", path_);
    return absl::OkStatus();
  }

  absl::StatusOr<std::shared_ptr<Mapping>> Map(uint64_t size, bool writable) override {
    STRATA_ASSIGN_OR_RETURN(uint64_t current, Size());
    if (size > current) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot map ", size, " bytes of ", path_, ": the file has ", current));
    }
    if (size == 0) return std::shared_ptr<Mapping>(new PosixMapping(nullptr, 0, writable));
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    void* p = ::mmap(nullptr, size, prot, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) return Errno(errno, "mmap", path_);
    return std::shared_ptr<Mapping>(new PosixMapping(static_cast<std::byte*>(p), size, writable));
  }

 private:
  int fd_;
  std::string path_;
};

class PosixFileSystem final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path, OpenMode mode) override {
    int flags = O_CLOEXEC;
    switch (mode) {
      case OpenMode::kReadOnly: flags |= O_RDONLY; break;
      case OpenMode::kReadWrite: flags |= O_RDWR; break;
      case OpenMode::kCreate: flags |= O_RDWR | O_CREAT; break;
      case OpenMode::kCreateNew: flags |= O_RDWR | O_CREAT | O_EXCL; break;
    }
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return Errno(errno, "open", path);
    return std::unique_ptr<File>(new PosixFile(fd, path));
  }

  absl::Status CreateDirs(const std::string& path) override {
    if (path.empty()) return absl::OkStatus();
    for (size_t i = 1; i <= path.size(); ++i) {
      if (i == path.size() || path[i] == '/') {
        std::string prefix = path.substr(0, i);
        if (::mkdir(prefix.c_str(), 0755) == 0) {
          // A new directory's entry lives in its parent: make it durable, or files acknowledged
          // as durable inside it could vanish with it after a power loss.
          auto slash = prefix.find_last_of('/');
          STRATA_RETURN_IF_ERROR(
              SyncDir(slash == std::string::npos ? "." : slash == 0 ? "/" : prefix.substr(0, slash)));
        } else if (errno != EEXIST) {
          return Errno(errno, "mkdir", prefix);
        }
      }
    }
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Errno(errno, "stat", path);
    if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(path + " is not a directory");
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) return Errno(errno, "opendir", path);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  absl::Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Errno(errno, "unlink", path);
    return absl::OkStatus();
  }

  absl::Status RemoveAll(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return absl::OkStatus();
      return Errno(errno, "stat", path);
    }
    if (!S_ISDIR(st.st_mode)) return Remove(path);
    STRATA_ASSIGN_OR_RETURN(auto names, ListDir(path));
    for (const auto& n : names) STRATA_RETURN_IF_ERROR(RemoveAll(JoinPath(path, n)));
    if (::rmdir(path.c_str()) != 0) return Errno(errno, "rmdir", path);
    return absl::OkStatus();
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Errno(errno, "rename", from);
    return absl::OkStatus();
  }

  absl::StatusOr<bool> Exists(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) return true;
    if (errno == ENOENT) return false;
    return Errno(errno, "stat", path);
  }

  absl::Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno(errno, "open", path);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return Errno(err, "fsync", path);
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> FreeBytes(const std::string& path) override {
    struct statvfs st;
    if (::statvfs(path.c_str(), &st) != 0) return Errno(errno, "statvfs", path);
    return uint64_t(st.f_bavail) * uint64_t(st.f_frsize);
  }
};

}  // namespace

FileSystem& RealFileSystem() {
  static PosixFileSystem* fs = new PosixFileSystem();
  return *fs;
}

namespace {
constexpr absl::string_view kNoSpacePayload = "strata.io/no-space";
}

absl::Status ErrnoError(int err, absl::string_view message) {
  absl::Status st = absl::ErrnoToStatus(err, message);
  if (err == ENOSPC || err == EDQUOT) st.SetPayload(kNoSpacePayload, absl::Cord("1"));
  return st;
}

absl::Status NoSpaceError(absl::string_view message) {
  absl::Status st = absl::ResourceExhaustedError(message);
  st.SetPayload(kNoSpacePayload, absl::Cord("1"));
  return st;
}

bool IsNoSpace(const absl::Status& st) { return st.GetPayload(kNoSpacePayload).has_value(); }

absl::Status WithContext(const absl::Status& st, absl::string_view context) {
  if (st.ok()) return st;
  absl::Status out(st.code(), absl::StrCat(context, ": ", st.message()));
  st.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    out.SetPayload(url, payload);
  });
  return out;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

absl::Status WriteFileAtomic(FileSystem& fs, const std::string& path,
                             std::span<const std::byte> bytes) {
  std::string tmp = path + ".tmp";
  {
    STRATA_ASSIGN_OR_RETURN(auto file, fs.Open(tmp, OpenMode::kCreate));
    STRATA_RETURN_IF_ERROR(file->Truncate(0));
    STRATA_RETURN_IF_ERROR(file->WriteAt(0, bytes));
    STRATA_RETURN_IF_ERROR(file->Sync());
  }
  STRATA_RETURN_IF_ERROR(fs.Rename(tmp, path));
  auto slash = path.find_last_of('/');
  return fs.SyncDir(slash == std::string::npos ? "." : path.substr(0, slash));
}

absl::StatusOr<std::vector<std::byte>> ReadWholeFile(FileSystem& fs, const std::string& path) {
  STRATA_ASSIGN_OR_RETURN(auto file, fs.Open(path, OpenMode::kReadOnly));
  STRATA_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::vector<std::byte> out(size);
  STRATA_ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, out));
  out.resize(n);
  return out;
}

}  // namespace strata::io
