// FaultFileSystem: seeded crash, torn-write and I/O-error injection over MemoryFileSystem.
#include "io/fault_file_system.h"

#include "absl/strings/str_cat.h"

namespace strata::io {

void FaultFileSystem::Crash(CrashMode mode) {
  CrashAll(
      [&](const std::string& dir, size_t pending_changes) -> size_t {
        if (mode == CrashMode::kDropUnsynced) return 0;
        absl::MutexLock lock(&fault_mu_);
        return std::uniform_int_distribution<size_t>(0, pending_changes)(rng_);
      },
      [&](const std::string& path, size_t pending_ops) {
        KeepDecision keep;
        absl::MutexLock lock(&fault_mu_);
        if (mode == CrashMode::kTornUnsynced) {
          keep.whole_ops = std::uniform_int_distribution<size_t>(0, pending_ops)(rng_);
          keep.torn_fraction = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
        } else if (mode == CrashMode::kUnorderedUnsynced) {
          keep.whole_ops = pending_ops;
        }
        return keep;
      },
      [&]() {
        if (mode != CrashMode::kUnorderedUnsynced) return false;
        absl::MutexLock lock(&fault_mu_);
        return std::uniform_int_distribution<int>(0, 1)(rng_) == 0;
      });
  absl::MutexLock lock(&fault_mu_);
  ops_until_death_ = -1;
}

void FaultFileSystem::CrashAfterOps(int64_t ops) {
  absl::MutexLock lock(&fault_mu_);
  ops_until_death_ = ops;
}

void FaultFileSystem::Restart() {
  absl::MutexLock lock(&fault_mu_);
  ops_until_death_ = -1;
}

bool FaultFileSystem::dead() const {
  absl::MutexLock lock(&fault_mu_);
  return ops_until_death_ == 0;
}

int64_t FaultFileSystem::mutating_ops() const {
  absl::MutexLock lock(&fault_mu_);
  return mutating_ops_;
}

absl::Status FaultFileSystem::OnMutation(const std::string& path) {
  absl::MutexLock lock(&fault_mu_);
  if (ops_until_death_ == 0) {
    return absl::ErrnoToStatus(
        EIO, absl::StrCat("injected crash: the process died before this operation on ", path));
  }
  if (ops_until_death_ > 0) --ops_until_death_;
  ++mutating_ops_;
  return absl::OkStatus();
}

void FaultFileSystem::FailNextWrites(int count, int err) {
  absl::MutexLock lock(&fault_mu_);
  fail_writes_ = count;
  write_err_ = err;
}

void FaultFileSystem::FailNextSyncs(int count, int err, std::string path_suffix) {
  absl::MutexLock lock(&fault_mu_);
  fail_syncs_ = count;
  sync_err_ = err;
  fail_syncs_suffix_ = std::move(path_suffix);
}

void FaultFileSystem::SetErrorProbabilities(double write_error, double sync_error, int err) {
  absl::MutexLock lock(&fault_mu_);
  write_error_probability_ = write_error;
  sync_error_probability_ = sync_error;
  write_err_ = err;
  sync_err_ = err;
}

int64_t FaultFileSystem::injected_errors() const {
  absl::MutexLock lock(&fault_mu_);
  return injected_;
}

absl::Status FaultFileSystem::OnWrite(const std::string& path, size_t* bytes_to_apply) {
  absl::MutexLock lock(&fault_mu_);
  bool fail = false;
  if (fail_writes_ > 0) {
    --fail_writes_;
    fail = true;
  } else if (write_error_probability_ > 0 &&
             std::uniform_real_distribution<double>(0, 1)(rng_) < write_error_probability_) {
    fail = true;
  }
  if (!fail) return absl::OkStatus();
  ++injected_;
  // A failed write may still have landed part of its bytes: tear it at a random point.
  if (*bytes_to_apply > 0) {
    *bytes_to_apply = std::uniform_int_distribution<size_t>(0, *bytes_to_apply - 1)(rng_);
  }
  return ErrnoError(write_err_, absl::StrCat("injected write fault on ", path));
}

absl::Status FaultFileSystem::OnSync(const std::string& path) {
  absl::MutexLock lock(&fault_mu_);
  bool fail = false;
  const bool matches = path.size() >= fail_syncs_suffix_.size() &&
                       path.compare(path.size() - fail_syncs_suffix_.size(),
                                    fail_syncs_suffix_.size(), fail_syncs_suffix_) == 0;
  if (fail_syncs_ > 0 && matches) {
    --fail_syncs_;
    fail = true;
  } else if (sync_error_probability_ > 0 &&
             std::uniform_real_distribution<double>(0, 1)(rng_) < sync_error_probability_) {
    fail = true;
  }
  if (!fail) return absl::OkStatus();
  ++injected_;
  return absl::ErrnoToStatus(sync_err_, absl::StrCat("injected fsync fault on ", path));
}

}  // namespace strata::io
