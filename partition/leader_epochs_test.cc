#include "partition/leader_epochs.h"

#include <catch2/catch.hpp>

namespace strata::partition {
namespace {

TEST_CASE("LeaderEpochs answers where an epoch ends (KIP-279)") {
  LeaderEpochs epochs;
  CHECK(epochs.latest() == -1);
  CHECK(epochs.EndOffsetFor(0, 0).epoch == -1);
  epochs.Assign(1, 0);
  epochs.Assign(1, 5);  // a later batch of the same epoch: ignored
  epochs.Assign(3, 10);
  epochs.Assign(2, 12);  // older than the latest: ignored
  epochs.Assign(6, 20);
  CHECK(epochs.latest() == 6);
  // Known epochs end where the next begins; the latest at the log end.
  CHECK(epochs.EndOffsetFor(1, 30).epoch == 1);
  CHECK(epochs.EndOffsetFor(1, 30).end_offset == 10);
  CHECK(epochs.EndOffsetFor(6, 30).end_offset == 30);
  // An epoch this log never had: the largest one below it, ending where the next begins.
  CHECK(epochs.EndOffsetFor(4, 30).epoch == 3);
  CHECK(epochs.EndOffsetFor(4, 30).end_offset == 20);
  // Older than all: itself, ending at the first start. Newer than all: unknown.
  CHECK(epochs.EndOffsetFor(0, 30).epoch == 0);
  CHECK(epochs.EndOffsetFor(0, 30).end_offset == 0);
  CHECK(epochs.EndOffsetFor(7, 30).epoch == -1);
}

TEST_CASE("LeaderEpochs forgets epochs a truncation removed") {
  LeaderEpochs epochs;
  epochs.Assign(1, 0);
  epochs.Assign(2, 10);
  epochs.Assign(4, 20);
  epochs.TruncateTo(20);
  CHECK(epochs.latest() == 2);
  epochs.TruncateTo(15);
  CHECK(epochs.latest() == 2);
  epochs.TruncateTo(10);
  CHECK(epochs.latest() == 1);
  epochs.Assign(5, 10);
  CHECK(epochs.EndOffsetFor(1, 12).end_offset == 10);
}

}  // namespace
}  // namespace strata::partition
