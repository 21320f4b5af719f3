// Tests of Connection, Producer and Consumer against FakeBroker (an in-process stand-in for
// stratad): an unreachable broker is reported with what to do; keyed records land in their key's
// partition with consecutive offsets; lost Produce responses are retried with the same sequence
// numbers and deduplicated, never written twice; acks=0 completes without offsets; the consumer
// reads everything back in order, skips records below a Seek inside a batch, and resets an
// out-of-range position.
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "client/connection.h"
#include "client/consumer.h"
#include "client/fake_broker.h"
#include "client/producer.h"
#include "record/partitioner.h"

namespace strata::client {
namespace {

using Catch::Matchers::Contains;

// A port nothing listens on: bind one, then close it.
uint16_t ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

ProducerRecord Rec(const std::string& topic, const std::string& value,
                   std::optional<int32_t> partition = std::nullopt) {
  ProducerRecord r;
  r.topic = topic;
  r.value = value;
  r.partition = partition;
  return r;
}

// Collects the callbacks' results.
struct Results {
  absl::Mutex mu;
  std::vector<absl::StatusOr<RecordMetadata>> all;
  SendCallback Callback() {
    return [this](absl::StatusOr<RecordMetadata> md) {
      absl::MutexLock lock(&mu);
      all.push_back(std::move(md));
    };
  }
};

TEST_CASE("an unreachable broker says how to start one") {
  const std::string address = "127.0.0.1:" + std::to_string(ClosedPort());
  auto conn = Connection::Connect(address);
  REQUIRE(absl::IsUnavailable(conn.status()));
  CHECK_THAT(std::string(conn.status().message()),
             Contains("cannot reach " + address + " (connection refused)"));
  CHECK_THAT(std::string(conn.status().message()), Contains("is stratad running?"));

  ProducerConfig config;
  config.bootstrap = address;
  CHECK(absl::IsUnavailable(Producer::Create(config).status()));
}

TEST_CASE("broker addresses parse, and bad ones say the expected form") {
  CHECK(ParseHostPort("127.0.0.1:9292")->port == 9292);
  CHECK(ParseHostPort("localhost")->port == 9292);
  CHECK(ParseHostPort("[::1]:1234")->host == "::1");
  CHECK(ParseHostPort("[::1]:1234")->port == 1234);
  for (const char* bad : {"", ":9292", "host:", "host:0", "host:70000", "host:x", "::1:80"}) {
    INFO(bad);
    auto hp = ParseHostPort(bad);
    REQUIRE(absl::IsInvalidArgument(hp.status()));
    CHECK_THAT(std::string(hp.status().message()), Contains("HOST:PORT"));
  }
}

TEST_CASE("the handshake fails for an API the broker does not serve") {
  FakeBroker broker({{"orders", 1}});
  ConnectionOptions options;
  auto conn = Connection::Connect(broker.address(), options);
  REQUIRE(conn.ok());
  CHECK((*conn)->NegotiatedVersion(protocol::ApiKey::kProduce) == 0);
  // An unknown topic is NotFound and says how to create it.
  auto md = FetchTopicMetadata(**conn, "nope");
  REQUIRE(absl::IsNotFound(md.status()));
  CHECK_THAT(std::string(md.status().message()), Contains("strata topic create nope"));
}

TEST_CASE("keyed records go to their key's partition with consecutive offsets") {
  FakeBroker broker({{"orders", 4}});
  ProducerConfig config;
  config.bootstrap = broker.address();
  config.batch_bytes = 512;  // several batches per partition
  auto producer = Producer::Create(config);
  REQUIRE(producer.ok());
  CHECK((*producer)->producer_id() >= 0);
  Results results;
  std::map<int32_t, std::vector<std::string>> expected;
  for (int i = 0; i < 200; ++i) {
    ProducerRecord r;
    r.topic = "orders";
    r.key = "key-" + std::to_string(i % 10);
    r.value = "value-" + std::to_string(i);
    expected[record::PartitionForKey(*r.key, 4)].push_back(*r.value);
    REQUIRE((*producer)->Send(std::move(r), results.Callback()).ok());
  }
  (*producer)->Flush();
  {
    absl::MutexLock lock(&results.mu);
    REQUIRE(results.all.size() == 200);
    std::map<int32_t, std::vector<int64_t>> offsets;
    for (const auto& md : results.all) {
      REQUIRE(md.ok());
      offsets[md->partition].push_back(md->offset);
    }
    for (auto& [p, list] : offsets) {
      std::sort(list.begin(), list.end());
      for (size_t i = 0; i < list.size(); ++i) CHECK(list[i] == int64_t(i));
    }
  }
  for (const auto& [p, values] : expected) CHECK(broker.Values("orders", p) == values);
  CHECK(broker.produce_requests() > 4);

  // Unknown topics and partitions fail at Send, and the callback is not called.
  CHECK(absl::IsNotFound((*producer)->Send(Rec("nope", "x"), results.Callback())));
  CHECK(absl::IsNotFound(
      (*producer)->Send(Rec("orders", "x", 4), results.Callback())));
  (*producer)->Close();
  CHECK(absl::IsFailedPrecondition(
      (*producer)->Send(Rec("orders", "x"), results.Callback())));
}

TEST_CASE("lost Produce responses are retried and deduplicated, never duplicated") {
  FakeBroker broker({{"orders", 2}});
  ProducerConfig config;
  config.bootstrap = broker.address();
  config.TEST_drop_responses = 3;
  config.retry_backoff_ms = 5;
  std::atomic<int> notices{0};
  std::atomic<bool> notices_ok{true};
  const absl::Time started = absl::Now();
  config.on_retry = [&](const RetryNotice& n) {
    ++notices;
    // Each dropped answer is one retry of one partition-1 batch, failed as a lost connection.
    if (n.tp != TopicPartition{"orders", 1} || !absl::IsUnavailable(n.cause) || n.attempts < 1 ||
        n.give_up_at < started + absl::Milliseconds(config.delivery_timeout_ms)) {
      notices_ok = false;
    }
  };
  auto producer = Producer::Create(config);
  REQUIRE(producer.ok());
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> futures;
  std::vector<std::string> values;
  for (int i = 0; i < 30; ++i) {
    values.push_back("v" + std::to_string(i));
    futures.push_back((*producer)->Send(Rec("orders", values.back(), 1)));
    if (i % 10 == 9) (*producer)->Flush();  // several batches, each of which may be retried
  }
  (*producer)->Close();
  for (size_t i = 0; i < futures.size(); ++i) {
    auto md = futures[i].get();
    REQUIRE(md.ok());
    CHECK(md->partition == 1);
    CHECK(md->offset == int64_t(i));
  }
  CHECK(broker.Values("orders", 1) == values);  // each record exactly once, in order
  CHECK(broker.duplicates() == 3);              // every dropped answer was a deduplicated resend
  CHECK(notices == 3);                          // on_retry heard of each retry
  CHECK(notices_ok);
}

TEST_CASE("SendSync answers each record in order, alongside Send from other threads") {
  FakeBroker broker({{"orders", 2}});
  ProducerConfig config;
  config.bootstrap = broker.address();
  config.linger_ms = 50;  // SendSync must not wait for it
  auto producer = Producer::Create(config);
  REQUIRE(producer.ok());
  // Another thread streams asynchronous sends to partition 0 meanwhile.
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> async;
  std::thread other([&] {
    for (int i = 0; i < 200; ++i) async.push_back((*producer)->Send(Rec("orders", "a", 0)));
  });
  std::vector<std::string> values;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) {
    values.push_back("s" + std::to_string(i));
    absl::StatusOr<RecordMetadata> md = (*producer)->SendSync(Rec("orders", values.back(), 1));
    REQUIRE(md.ok());
    CHECK(md->partition == 1);
    CHECK(md->offset == int64_t(i));
  }
  // 50 lingers of 50 ms would take 2.5 s; a generous bound that still fails if SendSync lingers.
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500));
  other.join();
  (*producer)->Close();
  for (size_t i = 0; i < async.size(); ++i) {
    auto md = async[i].get();
    REQUIRE(md.ok());
    CHECK(md->offset == int64_t(i));
  }
  CHECK(broker.Values("orders", 1) == values);
  CHECK(broker.Values("orders", 0).size() == 200);
}

TEST_CASE("SendSync with a full buffer waits for space instead of blocking the sender") {
  FakeBroker broker({{"orders", 2}});
  ProducerConfig config;
  config.bootstrap = broker.address();
  config.buffer_bytes = 16 << 10;  // a few records fill it
  config.linger_ms = 300;          // and they wait, unsent, with the sender thread asleep
  config.max_block_ms = 5000;
  auto producer = Producer::Create(config);
  REQUIRE(producer.ok());
  const std::string value(1000, 'v');
  std::atomic<int> failed{0};
  std::thread fill([&] {
    for (int i = 0; i < 30; ++i) {  // more than fit: blocks until the linger sends the batch
      absl::Status st = (*producer)->Send(Rec("orders", value, 0), [&](auto md) {
        if (!md.ok()) failed.fetch_add(1);
      });
      if (!st.ok()) failed.fetch_add(1);
    }
  });
  // Wait until the buffer has room for at most one more record (each reserves its value plus
  // under kSlack bytes of record and batch overhead): the filler takes that one and blocks.
  constexpr size_t kSlack = 128;
  const auto nearly_full = [&] {
    return (*producer)->buffered_bytes() + 2 * (value.size() + kSlack) > config.buffer_bytes;
  };
  const auto full_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!nearly_full() && std::chrono::steady_clock::now() < full_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(nearly_full());
  // Must wait for space without holding up the sender thread: if it held the send round while
  // blocked, the lingering batch could never go and this would fail after max_block_ms.
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<RecordMetadata> md = (*producer)->SendSync(Rec("orders", value, 1));
  REQUIRE(md.ok());
  CHECK(md->offset == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(4000));
  fill.join();
  (*producer)->Close();
  CHECK(failed.load() == 0);
  CHECK(broker.Values("orders", 0).size() == 30);
}

TEST_CASE("SendSync retries a lost answer once and reports typed errors") {
  FakeBroker broker({{"orders", 1}});
  ProducerConfig config;
  config.bootstrap = broker.address();
  config.TEST_drop_responses = 1;
  config.retry_backoff_ms = 5;
  auto producer = Producer::Create(config);
  REQUIRE(producer.ok());
  auto first = (*producer)->SendSync(Rec("orders", "v0", 0));
  REQUIRE(first.ok());  // the dropped answer was retried by the sender thread
  CHECK(first->offset == 0);
  auto second = (*producer)->SendSync(Rec("orders", "v1", 0));
  REQUIRE(second.ok());
  CHECK(second->offset == 1);
  CHECK(broker.Values("orders", 0) == std::vector<std::string>{"v0", "v1"});
  CHECK(broker.duplicates() == 1);
  auto missing = (*producer)->SendSync(Rec("nope", "v", 0));
  CHECK(absl::IsNotFound(missing.status()));
  (*producer)->Close();
  CHECK(absl::IsFailedPrecondition((*producer)->SendSync(Rec("orders", "late", 0)).status()));
}

TEST_CASE("acks=0 completes without offsets") {
  FakeBroker broker({{"orders", 1}});
  ProducerConfig config;
  config.bootstrap = broker.address();
  config.acks = 0;
  auto producer = Producer::Create(config);
  REQUIRE(producer.ok());
  CHECK((*producer)->producer_id() == -1);  // idempotence needs answers
  auto future = (*producer)->Send(Rec("orders", "fire-and-forget"));
  (*producer)->Close();
  auto md = future.get();
  REQUIRE(md.ok());
  CHECK(md->offset == -1);
  // Nothing tells the client when the broker has it: wait for it to arrive.
  for (int i = 0; i < 200 && broker.Values("orders", 0).empty(); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  CHECK(broker.Values("orders", 0) == std::vector<std::string>{"fire-and-forget"});
}

TEST_CASE("the consumer reads back every record and honours Seek") {
  FakeBroker broker({{"orders", 2}});
  {
    ProducerConfig config;
    config.bootstrap = broker.address();
    config.linger_ms = 50;  // one batch per partition
    config.compression = record::Compression::kLz4;
    auto producer = Producer::Create(config);
    REQUIRE(producer.ok());
    for (int i = 0; i < 20; ++i) {
      ProducerRecord r = Rec("orders", "v" + std::to_string(i), i % 2);
      r.headers = {{"h", "x"}};
      REQUIRE((*producer)->Send(std::move(r), [](auto) {}).ok());
    }
    (*producer)->Close();
  }
  ConsumerConfig config;
  config.bootstrap = broker.address();
  auto consumer = Consumer::Create(config);
  REQUIRE(consumer.ok());
  CHECK(absl::IsFailedPrecondition((*consumer)->Poll(10).status()));
  REQUIRE((*consumer)->Assign("orders").ok());
  CHECK((*consumer)->Assignment().size() == 2);
  REQUIRE((*consumer)->Seek("orders", 1, SeekTarget::Offset(7)).ok());
  std::vector<ConsumerRecord> all;
  for (int i = 0; i < 10 && all.size() < 13; ++i) {
    auto records = (*consumer)->Poll(100);
    REQUIRE(records.ok());
    all.insert(all.end(), records->begin(), records->end());
  }
  REQUIRE(all.size() == 13);  // 10 from partition 0, offsets 7..9 of partition 1
  std::map<int32_t, std::vector<int64_t>> offsets;
  for (const ConsumerRecord& r : all) {
    offsets[r.partition].push_back(r.offset);
    CHECK(r.value == "v" + std::to_string(r.offset * 2 + r.partition));
    CHECK_FALSE(r.key.has_value());
    REQUIRE(r.headers.size() == 1);
    CHECK(r.headers[0] == Header{"h", "x"});
  }
  CHECK(offsets[0] == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(offsets[1] == std::vector<int64_t>{7, 8, 9});
  CHECK(*(*consumer)->Position("orders", 0) == 10);
  CHECK(*(*consumer)->Position("orders", 1) == 10);

  // A position past the end is reset (auto_offset_reset = earliest) and reading goes on.
  REQUIRE((*consumer)->Seek("orders", 0, SeekTarget::Offset(500)).ok());
  auto records = (*consumer)->Poll(10);
  REQUIRE(records.ok());
  CHECK(*(*consumer)->Position("orders", 0) == 0);
}

TEST_CASE("a damaged batch is DataLoss, and batches before the position are not read") {
  FakeBroker broker({{"t", 1}});
  {
    ProducerConfig config;
    config.bootstrap = broker.address();
    auto producer = Producer::Create(config);
    REQUIRE(producer.ok());
    for (int i = 0; i < 3; ++i) {
      REQUIRE((*producer)->Send(Rec("t", "v" + std::to_string(i), 0), [](auto) {}).ok());
      (*producer)->Flush();  // one batch each
    }
    (*producer)->Close();
  }
  broker.TEST_CorruptLastBatch("t", 0);
  ConsumerConfig config;
  config.bootstrap = broker.address();
  auto consumer = Consumer::Create(config);
  REQUIRE(consumer.ok());
  REQUIRE((*consumer)->Assign("t").ok());
  REQUIRE((*consumer)->Seek("t", 0, SeekTarget::Earliest()).ok());
  std::vector<std::string> values;
  absl::Status failed;
  for (int i = 0; i < 10 && failed.ok(); ++i) {
    auto records = (*consumer)->Poll(100);
    if (!records.ok()) {
      failed = records.status();
      break;
    }
    for (const auto& r : *records) values.push_back(*r.value);
  }
  CHECK(absl::IsDataLoss(failed));
  CHECK_THAT(std::string(failed.message()), Catch::Matchers::Contains("failed verification"));
  CHECK(*(*consumer)->Position("t", 0) <= 2);  // nothing of the damaged batch was returned

  // PollEach over good batches and the damaged one together: it visits none of them.
  REQUIRE((*consumer)->Seek("t", 0, SeekTarget::Earliest()).ok());
  int visited = 0;
  auto each = (*consumer)->PollEach(100, [&](const RecordView&) { ++visited; });
  CHECK(absl::IsDataLoss(each.status()));  // one Fetch answer holds all three small batches
  CHECK(visited == 0);
  CHECK(*(*consumer)->Position("t", 0) == 0);
}

TEST_CASE("with auto_offset_reset none, an out-of-range position is an error") {
  FakeBroker broker({{"orders", 1}});
  ConsumerConfig config;
  config.bootstrap = broker.address();
  config.auto_offset_reset = OffsetReset::kNone;
  auto consumer = Consumer::Create(config);
  REQUIRE(consumer.ok());
  REQUIRE((*consumer)->Assign("orders", {0}).ok());
  CHECK(absl::IsFailedPrecondition((*consumer)->Poll(10).status()));
  REQUIRE((*consumer)->Seek("orders", 0, SeekTarget::Offset(5)).ok());
  auto records = (*consumer)->Poll(10);
  REQUIRE(absl::IsOutOfRange(records.status()));
  CHECK_THAT(std::string(records.status().message()), Contains("Seek"));
  CHECK(absl::IsNotFound((*consumer)->Assign("orders", {3})));
}

}  // namespace
}  // namespace strata::client
