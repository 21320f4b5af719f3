#include "broker/producer_ids.h"

#include <catch2/catch.hpp>
#include <set>

#include "common/limits.h"
#include "io/fault_file_system.h"

namespace strata::broker {
namespace {

TEST_CASE("producer ids are unique and never reused after a crash", "[broker][producer_ids]") {
  for (io::CrashMode mode : io::kAllCrashModes) {
    io::FaultFileSystem fs(42);
    std::set<int64_t> handed_out;
    for (int run = 0; run < 5; ++run) {
      auto ids = ProducerIdAllocator::Open(&fs, "/data");
      REQUIRE(ids.ok());
      // Cross a block boundary in some runs.
      const int n = run % 2 == 0 ? 3 : static_cast<int>(limits::producer_id_block) + 7;
      for (int i = 0; i < n; ++i) {
        auto id = (*ids)->Next();
        REQUIRE(id.ok());
        INFO("run " << run << " id " << *id);
        REQUIRE(handed_out.insert(*id).second);
      }
      fs.Crash(mode);
    }
  }
}

TEST_CASE("a damaged producer-ids file stops start-up with what to do", "[broker][producer_ids]") {
  io::FaultFileSystem fs(1);
  REQUIRE(fs.CreateDirs("/data/meta").ok());
  const std::string junk = "not a number\n";
  REQUIRE(io::WriteFileAtomic(fs, ProducerIdAllocator::Path("/data"),
                              {reinterpret_cast<const std::byte*>(junk.data()), junk.size()})
              .ok());
  auto ids = ProducerIdAllocator::Open(&fs, "/data");
  REQUIRE(!ids.ok());
  CHECK(absl::IsInvalidArgument(ids.status()));
  CHECK(ids.status().message().find("producer-ids") != std::string::npos);
}

TEST_CASE("an I/O error reserving a block fails the request, not the broker",
          "[broker][producer_ids]") {
  io::FaultFileSystem fs(3);
  auto ids = ProducerIdAllocator::Open(&fs, "/data");
  REQUIRE(ids.ok());
  fs.FailNextSyncs(1, EIO);
  CHECK(!(*ids)->Next().ok());
  auto next = (*ids)->Next();  // the next attempt reserves the block again
  REQUIRE(next.ok());
  CHECK(*next == 0);
}

}  // namespace
}  // namespace strata::broker
