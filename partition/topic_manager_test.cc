// Tests for TopicManager: create/list/describe/alter/delete, persistence across reopen, bad names
// and configs, crash leftovers, and offline partitions.
#include "partition/topic_manager.h"

#include <catch2/catch.hpp>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "io/fault_file_system.h"
#include "io/memory_file_system.h"
#include "log/log.h"
#include "log/test_util.h"
#include "partition/test_util.h"

namespace strata::partition {
namespace {

using testing::MakeProducerBatch;

std::string Message(const absl::Status& st) { return std::string(st.message()); }

std::span<const std::byte> Bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

struct Fixture {
  io::MemoryFileSystem fs;
  TopicConfig config;
  Fixture() {
    config.partitions = 3;
    config.log.segment_bytes = 8192;
    config.log.flush.bytes = 0;
    config.log.flush.interval_ms = 0;
    config.log.retention_ms = -1;
  }
  std::unique_ptr<TopicManager> Open() {
    auto m = TopicManager::Open(&fs, "/data");
    REQUIRE(m.ok());
    return std::move(*m);
  }
  std::string File(const std::string& path) {
    auto bytes = fs.TEST_Contents(path);
    REQUIRE(bytes.ok());
    return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  }
};

std::shared_ptr<Partition> MustGet(TopicManager& m, const std::string& topic, int32_t index) {
  auto p = m.GetPartition(topic, index);
  REQUIRE(p.ok());
  return *p;
}

void MustAppend(Partition& p, std::vector<std::byte> batch) { REQUIRE(p.Append(batch).ok()); }

TEST_CASE("create, list, describe and get partitions", "[topic_manager]") {
  Fixture f;
  auto m = f.Open();
  CHECK(m->List().empty());
  REQUIRE(m->Create("orders", f.config).ok());
  TopicConfig one = f.config;
  one.partitions = 1;
  REQUIRE(m->Create("logs", one).ok());
  CHECK(m->List() == std::vector<std::string>{"logs", "orders"});

  MustAppend(*MustGet(*m, "orders", 1), MakeProducerBatch(-1, -1, -1, 3));
  auto info = m->Describe("orders");
  REQUIRE(info.ok());
  CHECK(info->name == "orders");
  CHECK(info->config == f.config);
  REQUIRE(info->partitions.size() == 3);
  CHECK(info->partitions[1].index == 1);
  CHECK(info->partitions[1].dir == "/data/orders-1");
  CHECK(info->partitions[1].status.ok());
  CHECK(info->partitions[1].log_end_offset == 3);
  CHECK(info->partitions[0].log_end_offset == 0);
  for (int i = 0; i < 3; ++i) CHECK(f.fs.Exists(absl::StrCat("/data/orders-", i)).value());
  CHECK(f.File("/data/meta/topics/orders.conf") == FormatTopicConfig(f.config));

  auto missing = m->GetPartition("nope", 0);
  CHECK(absl::IsNotFound(missing.status()));
  CHECK(Message(missing.status()) == "topic 'nope' does not exist");
  auto past = m->GetPartition("orders", 3);
  CHECK(absl::IsOutOfRange(past.status()));
  CHECK(Message(past.status()) == "topic 'orders' has partitions [0, 3); there is no partition 3");
  CHECK(absl::IsOutOfRange(m->GetPartition("orders", -1).status()));
  CHECK(absl::IsNotFound(m->Describe("nope").status()));
}

TEST_CASE("bad names and configs are refused and leave nothing behind", "[topic_manager]") {
  Fixture f;
  auto m = f.Open();
  REQUIRE(m->Create("orders", f.config).ok());
  auto again = m->Create("orders", f.config);
  CHECK(absl::IsAlreadyExists(again));
  CHECK(Message(again) == "topic 'orders' already exists");

  auto bad_name = m->Create("a b", f.config);
  CHECK(absl::IsInvalidArgument(bad_name));
  CHECK(Message(bad_name).find("contains ' '") != std::string::npos);
  CHECK(absl::IsInvalidArgument(m->Create("..", f.config)));
  CHECK(absl::IsInvalidArgument(m->Create(std::string(250, 'x'), f.config)));

  TopicConfig bad = f.config;
  bad.partitions = 0;
  auto st = m->Create("zero", bad);
  CHECK(absl::IsInvalidArgument(st));
  CHECK(Message(st) == "partitions: 0 is outside [1, 1024]");
  bad = f.config;
  bad.log.retention_bytes = -3;
  CHECK(Message(m->Create("neg", bad)).rfind("retention_bytes: -3 is outside", 0) == 0);
  CHECK(m->List() == std::vector<std::string>{"orders"});
  CHECK(f.fs.ListDir("/data/meta/topics").value() == std::vector<std::string>{"orders.conf"});
}

TEST_CASE("a topic the disk cannot hold is refused up front, naming the space, and leaves "
          "nothing behind",
          "[topic_manager][space]") {
  Fixture f;
  auto m = f.Open();
  REQUIRE(m->Create("small", f.config).ok());  // 3 partitions
  const std::vector<std::string> before = f.fs.ListDir("/data").value();
  f.fs.SetCapacityBytes(1 << 20);  // 1 MiB: room for a few partitions, not for 100
  TopicConfig big = f.config;
  big.partitions = 100;
  const absl::Status st = m->Create("big", big);
  INFO(st);
  CHECK(absl::IsResourceExhausted(st));
  CHECK(io::IsNoSpace(st));
  CHECK(Message(st).find("not enough disk space for 100 new partition(s) of topic 'big'") == 0);
  CHECK(Message(st).find(" free and they need a reserve of ") != std::string::npos);
  CHECK(m->List() == std::vector<std::string>{"small"});
  CHECK(f.fs.ListDir("/data").value() == before);
  CHECK(f.fs.ListDir("/data/meta/topics").value() == std::vector<std::string>{"small.conf"});
  // Growing a topic is checked the same way.
  CHECK(io::IsNoSpace(m->Alter("small", {{"partitions", "100"}}).status()));
  CHECK(m->Describe("small")->partitions.size() == 3);
  // With room, both go ahead.
  f.fs.SetCapacityBytes(UINT64_MAX);
  REQUIRE(m->Create("big", big).ok());
  REQUIRE(m->Alter("small", {{"partitions", "100"}}).ok());
}

TEST_CASE("topics and their data survive reopening the manager", "[topic_manager]") {
  Fixture f;
  TopicConfig compact = f.config;
  compact.partitions = 2;
  compact.cleanup_policy = CleanupPolicy::kCompact;
  compact.log.flush.always = true;
  {
    auto m = f.Open();
    REQUIRE(m->Create("orders", f.config).ok());
    REQUIRE(m->Create("users", compact).ok());
    MustAppend(*MustGet(*m, "orders", 2), MakeProducerBatch(4, 0, 0, 5));
    // A compacted topic takes only keyed records.
    MustAppend(*MustGet(*m, "users", 0), MakeProducerBatch(-1, -1, -1, 2, "v", 1000, "user"));
    REQUIRE(m->Close().ok());
    CHECK(absl::IsFailedPrecondition(m->GetPartition("orders", 0).status()));
  }
  // A leftover temporary file of an interrupted config write is ignored.
  REQUIRE(io::WriteFileAtomic(f.fs, "/data/meta/topics/x.conf.tmp.keep", Bytes("junk")).ok());
  REQUIRE(f.fs.Rename("/data/meta/topics/x.conf.tmp.keep", "/data/meta/topics/x.conf.tmp").ok());

  auto m = f.Open();
  CHECK(m->List() == std::vector<std::string>{"orders", "users"});
  CHECK(m->Describe("orders")->config == f.config);
  CHECK(m->Describe("users")->config == compact);
  auto p = MustGet(*m, "orders", 2);
  CHECK(p->log_end_offset() == 5);
  CHECK(MustGet(*m, "users", 0)->log_end_offset() == 2);
  CHECK(MustGet(*m, "users", 0)->log().config().flush.always);
  // The producer state came back too: a retry is a duplicate.
  auto retry = MakeProducerBatch(4, 0, 0, 5);
  auto r = p->Append(retry);
  REQUIRE(r.ok());
  CHECK(r->duplicate);
  CHECK(r->base_offset == 0);
}

TEST_CASE("alter persists overrides; log settings apply on the next open", "[topic_manager]") {
  Fixture f;
  auto m = f.Open();
  REQUIRE(m->Create("orders", f.config).ok());
  auto held = MustGet(*m, "orders", 0);

  auto altered = m->Alter("orders", {{"retention_ms", "3600000"}, {"partitions", "5"}});
  REQUIRE(altered.ok());
  CHECK(altered->partitions == 5);
  CHECK(altered->log.retention_ms == 3600000);
  CHECK(m->Describe("orders")->config == *altered);
  CHECK(f.File("/data/meta/topics/orders.conf") == FormatTopicConfig(*altered));
  // New partitions exist at once, with the new config; old ones keep theirs until reopened.
  CHECK(MustGet(*m, "orders", 4)->log().config().retention_ms == 3600000);
  CHECK(f.fs.Exists("/data/orders-4").value());
  CHECK(held->log().config().retention_ms == -1);

  auto lower = m->Alter("orders", {{"partitions", "2"}});
  CHECK(absl::IsInvalidArgument(lower.status()));
  CHECK(Message(lower.status()) == "partitions: cannot lower from 5 to 2 (allowed: [5, 1024])");
  auto unknown = m->Alter("orders", {{"retention.ms", "1"}});
  CHECK(Message(unknown.status()).rfind("unknown key 'retention.ms'", 0) == 0);
  auto bad = m->Alter("orders", {{"segment_bytes", "1"}});
  CHECK(Message(bad.status()) == "segment_bytes: 1 is outside [4096, 4294967295]");
  CHECK(absl::IsNotFound(m->Alter("nope", {{"partitions", "9"}}).status()));
  CHECK(m->Describe("orders")->config == *altered);

  held.reset();
  m.reset();
  m = f.Open();
  CHECK(MustGet(*m, "orders", 0)->log().config().retention_ms == 3600000);
  CHECK(m->Describe("orders")->partitions.size() == 5);
}

TEST_CASE("delete closes partitions and removes their files", "[topic_manager]") {
  Fixture f;
  auto m = f.Open();
  REQUIRE(m->Create("orders", f.config).ok());
  REQUIRE(m->Create("keep", f.config).ok());
  auto held = MustGet(*m, "orders", 1);
  MustAppend(*held, MakeProducerBatch(-1, -1, -1, 4));

  REQUIRE(m->Delete("orders").ok());
  CHECK(m->List() == std::vector<std::string>{"keep"});
  CHECK(absl::IsNotFound(m->GetPartition("orders", 0).status()));
  CHECK(absl::IsNotFound(m->Describe("orders").status()));
  CHECK(!f.fs.Exists("/data/meta/topics/orders.conf").value());
  for (int i = 0; i < 3; ++i) CHECK(!f.fs.Exists(absl::StrCat("/data/orders-", i)).value());
  CHECK(f.fs.Exists("/data/keep-0").value());
  // A caller still holding a partition gets errors, not a crash.
  auto late = MakeProducerBatch(-1, -1, -1, 1);
  auto refused = held->Append(late);
  REQUIRE(!refused.ok());
  CHECK(refused.error().code == AppendErrorCode::kClosed);
  auto twice = m->Delete("orders");
  CHECK(absl::IsNotFound(twice));
  CHECK(Message(twice) == "topic 'orders' does not exist");

  m.reset();
  m = f.Open();
  CHECK(m->List() == std::vector<std::string>{"keep"});
  // Re-created, the topic starts empty.
  REQUIRE(m->Create("orders", f.config).ok());
  CHECK(MustGet(*m, "orders", 1)->log_end_offset() == 0);
}

TEST_CASE("create does not adopt directories a crashed delete left behind", "[topic_manager]") {
  Fixture f;
  {
    // The directories of a deleted topic whose config file was already removed.
    auto p = Partition::Open(&f.fs, "/data", "ghost", 0, f.config);
    REQUIRE(p.ok());
    MustAppend(**p, MakeProducerBatch(-1, -1, -1, 7));
  }
  auto m = f.Open();
  CHECK(m->List().empty());
  REQUIRE(m->Create("ghost", f.config).ok());
  CHECK(MustGet(*m, "ghost", 0)->log_end_offset() == 0);
}

TEST_CASE("a config file that does not parse fails Open naming the file", "[topic_manager]") {
  Fixture f;
  REQUIRE(f.fs.CreateDirs("/data/meta/topics").ok());
  REQUIRE(io::WriteFileAtomic(f.fs, "/data/meta/topics/bad.conf",
                              Bytes("partitions=2\nsegment_bytes=lots\n"))
              .ok());
  auto m = TopicManager::Open(&f.fs, "/data");
  CHECK(absl::IsInvalidArgument(m.status()));
  CHECK(Message(m.status()) ==
        "/data/meta/topics/bad.conf: line 2: segment_bytes: 'lots' is not an integer in [4096, "
        "4294967295]");
  REQUIRE(f.fs.Remove("/data/meta/topics/bad.conf").ok());
  REQUIRE(io::WriteFileAtomic(f.fs, "/data/meta/topics/a b.conf", Bytes("")).ok());
  CHECK(absl::IsInvalidArgument(TopicManager::Open(&f.fs, "/data").status()));
}

TEST_CASE("a partition that fails recovery is offline; the others serve", "[topic_manager]") {
  Fixture f;
  {
    auto m = f.Open();
    REQUIRE(m->Create("orders", f.config).ok());
    MustAppend(*MustGet(*m, "orders", 1), MakeProducerBatch(-1, -1, -1, 2));
  }
  // Partition 1 claims more fsynced data than it holds (docs/recovery.md rule 9).
  REQUIRE(f.fs.Remove("/data/orders-1/clean-shutdown").ok());
  REQUIRE(io::WriteFileAtomic(f.fs, "/data/orders-1/recovery-point", Bytes("1000")).ok());
  auto m = f.Open();
  auto offline = m->GetPartition("orders", 1);
  CHECK(absl::IsDataLoss(offline.status()));
  CHECK(Message(offline.status()).rfind("partition orders-1 is offline: ", 0) == 0);
  CHECK(MustGet(*m, "orders", 0)->log_end_offset() == 0);
  auto info = m->Describe("orders");
  REQUIRE(info.ok());
  CHECK(info->partitions[0].status.ok());
  CHECK(absl::IsDataLoss(info->partitions[1].status));
}

// --- Crashes inside an operation ----------------------------------------------------------------

// Appends `count` records tagged `tag` to partition 0 of `topic` and waits until they are durable.
void AppendDurably(TopicManager& m, const std::string& topic, const std::string& tag, int count) {
  auto p = MustGet(m, topic, 0);
  auto batch = MakeProducerBatch(-1, -1, -1, count, tag);
  auto r = p->Append(batch);
  REQUIRE(r.ok());
  REQUIRE(p->log().WaitDurable(r->last_offset).get().ok());
}

// Every record value in partition `index` of `topic`.
std::vector<std::string> ValuesOf(TopicManager& m, const std::string& topic, int32_t index = 0) {
  return log::testing::ReadAllValues(MustGet(m, topic, index)->log());
}

TEST_CASE("a crash between any two file operations of opening, creating or deleting topics loses "
          "no durable topic or batch", "[topic_manager][crash]") {
  // For each operation: count its file operations, then for every n up to that count, run it
  // again and let the process die after n of them; lose power (each crash mode) or restart the
  // process alone. The reopened manager must hold every topic and batch that was durable, and
  // the operation's topic either whole or not at all. Then one more topic with a durable batch,
  // a power loss, and both must be there: whatever the crash left is durable once reopened.
  enum class Op { kOpenFresh, kCreate, kDelete };
  TopicConfig config;
  config.partitions = 2;
  config.log.segment_bytes = 8192;
  config.log.flush.bytes = 0;
  config.log.flush.interval_ms = 0;
  config.log.retention_ms = -1;
  const std::vector<std::string> keep = {"keep-0", "keep-1"};
  for (Op op : {Op::kOpenFresh, Op::kCreate, Op::kDelete}) {
    std::unique_ptr<TopicManager> m;
    // The state before the operation, built the same way every time.
    auto build = [&](io::FaultFileSystem& fs) {
      m.reset();
      if (op == Op::kOpenFresh) return;
      m = TopicManager::Open(&fs, "/data").value();
      REQUIRE(m->Create("keep", config).ok());
      AppendDurably(*m, "keep", "keep", 2);
      if (op == Op::kDelete) {
        REQUIRE(m->Create("gone", config).ok());
        AppendDurably(*m, "gone", "gone", 3);
      }
    };
    auto run = [&](io::FaultFileSystem& fs) -> absl::Status {
      switch (op) {
        case Op::kOpenFresh: {
          auto opened = TopicManager::Open(&fs, "/data");
          if (opened.ok()) m = std::move(*opened);
          return opened.status();
        }
        case Op::kCreate:
          return m->Create("new", config);
        case Op::kDelete:
          return m->Delete("gone");
      }
      return absl::InternalError("unreachable");
    };
    int64_t ops = 0;
    {
      io::FaultFileSystem fs(1);
      build(fs);
      const int64_t before = fs.mutating_ops();
      REQUIRE(run(fs).ok());
      ops = fs.mutating_ops() - before;
      m.reset();
    }
    REQUIRE(ops > 0);
    for (int64_t n = 0; n <= ops; ++n) {
      for (io::CrashMode mode : io::kAllCrashModes) {
        for (bool power_lost : {true, false}) {
          INFO("operation " << int(op) << ": the process dies after " << n << " of its " << ops
                            << " file operations; crash mode " << int(mode)
                            << (power_lost ? ", power loss" : ", restart"));
          io::FaultFileSystem fs(uint64_t(n) + 1);
          build(fs);
          fs.CrashAfterOps(n);
          const bool ok = run(fs).ok();
          REQUIRE((ok || fs.dead()));
          if (m != nullptr) m->TEST_Abandon();
          m.reset();
          if (power_lost) {
            fs.Crash(mode);
          } else {
            fs.Restart();
          }
          auto reopened = TopicManager::Open(&fs, "/data");
          INFO("reopen: " << reopened.status());
          REQUIRE(reopened.ok());
          m = std::move(*reopened);
          if (op != Op::kOpenFresh) CHECK(ValuesOf(*m, "keep") == keep);
          const auto topics = m->List();
          auto has = [&](const std::string& t) {
            return std::find(topics.begin(), topics.end(), t) != topics.end();
          };
          if (op == Op::kCreate) {
            if (ok) CHECK(has("new"));
            if (has("new")) {
              for (int32_t i = 0; i < config.partitions; ++i) CHECK(ValuesOf(*m, "new", i).empty());
            }
          }
          if (op == Op::kDelete) {
            if (ok) CHECK(!has("gone"));
            if (has("gone")) CHECK(ValuesOf(*m, "gone") == std::vector<std::string>{
                                                              "gone-0", "gone-1", "gone-2"});
          }
          // Whatever the crash left, the manager makes durable: a new topic's durable batch
          // survives the next power loss, with everything before it.
          const auto before = m->List();
          REQUIRE(m->Create("later", config).ok());
          AppendDurably(*m, "later", "later", 1);
          m->TEST_Abandon();
          m.reset();
          fs.Crash(mode);
          auto again = TopicManager::Open(&fs, "/data");
          INFO("reopen after the power loss: " << again.status());
          REQUIRE(again.ok());
          m = std::move(*again);
          auto after = before;
          after.push_back("later");
          std::sort(after.begin(), after.end());
          CHECK(m->List() == after);
          CHECK(ValuesOf(*m, "later") == std::vector<std::string>{"later-0"});
          if (op != Op::kOpenFresh) CHECK(ValuesOf(*m, "keep") == keep);
          m.reset();
        }
      }
    }
  }
}

}  // namespace
}  // namespace strata::partition
