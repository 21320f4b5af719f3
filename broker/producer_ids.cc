#include "broker/producer_ids.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/limits.h"

namespace strata::broker {

std::string ProducerIdAllocator::Path(const std::string& data_dir) {
  return io::JoinPath(io::JoinPath(data_dir, "meta"), "producer-ids");
}

absl::StatusOr<std::unique_ptr<ProducerIdAllocator>> ProducerIdAllocator::Open(
    io::FileSystem* fs, const std::string& data_dir) {
  const std::string path = Path(data_dir);
  int64_t next = 0;
  STRATA_ASSIGN_OR_RETURN(bool exists, fs->Exists(path));
  if (exists) {
    STRATA_ASSIGN_OR_RETURN(auto bytes, ReadWholeFile(*fs, path));
    std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    if (!absl::SimpleAtoi(text, &next) || next < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": expected one non-negative number (the next free producer id), found `", text,
          "`; restore it from a backup or remove it only if no producer of this broker is alive"));
    }
  } else {
    STRATA_RETURN_IF_ERROR(fs->CreateDirs(io::JoinPath(data_dir, "meta")));
  }
  return std::unique_ptr<ProducerIdAllocator>(new ProducerIdAllocator(fs, path, next));
}

absl::StatusOr<int64_t> ProducerIdAllocator::Next() {
  absl::MutexLock lock(&mu_);
  if (next_ >= reserved_end_ && reserve_) {
    STRATA_ASSIGN_OR_RETURN(next_, reserve_(limits::producer_id_block));
    reserved_end_ = next_ + limits::producer_id_block;
  }
  if (next_ >= reserved_end_) {
    const int64_t end = next_ + limits::producer_id_block;
    const std::string text = absl::StrCat(end, "\n");
    STRATA_RETURN_IF_ERROR(io::WriteFileAtomic(
        *fs_, path_, {reinterpret_cast<const std::byte*>(text.data()), text.size()}));
    reserved_end_ = end;
  }
  return next_++;
}

void ProducerIdAllocator::UseBlockSource(
    std::function<absl::StatusOr<int64_t>(int64_t count)> reserve) {
  absl::MutexLock lock(&mu_);
  reserve_ = std::move(reserve);
  reserved_end_ = next_;  // the rest of a file-reserved block is not cluster-unique
}

}  // namespace strata::broker
