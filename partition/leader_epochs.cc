#include "partition/leader_epochs.h"

namespace strata::partition {

void LeaderEpochs::Assign(int32_t epoch, int64_t start_offset) {
  if (epoch < 0 || epoch <= latest()) return;
  starts_.emplace(epoch, start_offset);
}

void LeaderEpochs::TruncateTo(int64_t log_end) {
  while (!starts_.empty() && starts_.rbegin()->second >= log_end) {
    starts_.erase(std::prev(starts_.end()));
  }
}

EpochEnd LeaderEpochs::EndOffsetFor(int32_t epoch, int64_t log_end) const {
  if (starts_.empty()) return {-1, -1};
  auto higher = starts_.upper_bound(epoch);
  if (higher == starts_.end()) {
    // `epoch` is at least the latest.
    if (epoch == latest()) return {epoch, log_end};
    return {-1, -1};
  }
  if (higher == starts_.begin()) return {epoch, higher->second};
  return {std::prev(higher)->first, higher->second};
}

}  // namespace strata::partition
