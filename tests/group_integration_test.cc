// Integration tests of consumer groups against real stratad processes: members sharing
// partitions, a member killed with kill -9, independent groups, restarts of consumers and of the
// broker (SIGTERM and kill -9), static membership, compaction seen by concurrent readers, and the
// typed errors of bad group requests. Each checks what a user relies on: every record is
// processed at least once, duplicates come only after the last commit, and committed offsets
// survive.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/group_consumer.h"
#include "client/group_requests.h"
#include "client/producer.h"
#include "common/limits.h"
#include "tests/broker_process.h"

namespace strata::test {
namespace {

using namespace std::chrono_literals;
using client::TopicPartition;
namespace fb = protocol::fb;

// Group timings short enough for tests; the rest are the broker's defaults.
std::vector<std::string> GroupBrokerArgs(const TempDir& dir, const std::string& extra = "") {
  const std::string path = dir.path() + "/stratad.toml";
  std::ofstream out(path);
  out << "group_min_session_timeout_ms = 500\n"
         "group_initial_rebalance_delay_ms = 300\n"
      << extra;
  return {"--config", path};
}

std::unique_ptr<client::Admin> Admin(const BrokerProcess& broker) {
  auto admin = client::Admin::Connect(broker.bootstrap());
  REQUIRE(admin.ok());
  return std::move(*admin);
}

void Produce(const BrokerProcess& broker, const std::string& topic, int from, int to,
             const std::string& prefix = "v") {
  client::ProducerConfig config;
  config.bootstrap = broker.bootstrap();
  auto producer = client::Producer::Create(config);
  REQUIRE(producer.ok());
  std::atomic<int> errors{0};
  for (int i = from; i < to; ++i) {
    client::ProducerRecord r;
    r.topic = topic;
    r.key = absl::StrCat("k", i);
    r.value = absl::StrCat(prefix, i);
    REQUIRE((*producer)->Send(std::move(r), [&](auto result) {
      if (!result.ok()) errors.fetch_add(1);
    }).ok());
  }
  (*producer)->Flush();
  REQUIRE(errors.load() == 0);
}

std::map<int32_t, int64_t> LogEnds(const BrokerProcess& broker, const std::string& topic) {
  auto offsets = Admin(broker)->ListOffsets(topic, {}, client::kLatestTimestamp);
  REQUIRE(offsets.ok());
  std::map<int32_t, int64_t> out;
  for (const auto& po : *offsets) out[po.partition] = po.offset;
  return out;
}

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

// A GroupConsumer polling on its own thread, recording (partition, offset) of every record and
// its assignment.
class Member {
 public:
  Member(const BrokerProcess& broker, const std::string& group, const std::string& topic,
         std::function<void(client::GroupConsumerConfig&)> tweak = nullptr,
         client::RebalanceListener* listener = nullptr) {
    client::GroupConsumerConfig config;
    config.bootstrap = broker.bootstrap();
    config.group_id = group;
    config.auto_offset_reset = client::OffsetReset::kEarliest;
    config.session_timeout_ms = 3000;
    config.heartbeat_interval_ms = 300;
    config.auto_commit_interval_ms = 200;
    if (tweak) tweak(config);
    auto c = client::GroupConsumer::Create(config, listener);
    REQUIRE(c.ok());
    consumer_ = std::move(*c);
    REQUIRE(consumer_->Subscribe({topic}).ok());
    thread_ = std::thread([this] { Run(); });
  }
  ~Member() { Stop(); }

  // Pauses polling (the consumer stays open) until Resume.
  void Pause() { paused_.store(true); }
  void Resume() { paused_.store(false); }
  // Queues an async commit from the polling thread; its outcome shows in async_results().
  void CommitAsyncSoon() { commit_async_.store(true); }
  std::vector<absl::Status> async_results() const {
    absl::MutexLock lock(&mu_);
    return async_results_;
  }

  // Stops polling and closes the consumer (commit, leave).
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  std::vector<TopicPartition> assignment() const {
    absl::MutexLock lock(&mu_);
    return assignment_;
  }
  int32_t generation() const {
    absl::MutexLock lock(&mu_);
    return generation_;
  }
  uint64_t heartbeats_accepted() const { return consumer_->heartbeats_accepted(); }
  std::vector<std::pair<int32_t, int64_t>> records() const {
    absl::MutexLock lock(&mu_);
    return records_;
  }
  absl::Status error() const {
    absl::MutexLock lock(&mu_);
    return error_;
  }

 private:
  void Run() {
    while (!stop_.load()) {
      if (paused_.load()) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      if (commit_async_.exchange(false)) {
        consumer_->CommitAsync([this](absl::Status st) {
          absl::MutexLock lock(&mu_);
          async_results_.push_back(st);
        });
      }
      auto records = consumer_->Poll(100);
      absl::MutexLock lock(&mu_);
      if (!records.ok()) {
        error_ = records.status();
        break;
      }
      for (const auto& r : *records) records_.emplace_back(r.partition, r.offset);
      assignment_ = consumer_->Assignment();
      generation_ = consumer_->generation();
    }
    absl::Status st = consumer_->Close();
    absl::MutexLock lock(&mu_);
    if (error_.ok()) error_ = st;
  }

  std::unique_ptr<client::GroupConsumer> consumer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::atomic<bool> commit_async_{false};
  mutable absl::Mutex mu_;
  std::vector<absl::Status> async_results_ ABSL_GUARDED_BY(mu_);
  std::vector<TopicPartition> assignment_ ABSL_GUARDED_BY(mu_);
  int32_t generation_ ABSL_GUARDED_BY(mu_) = -1;
  std::vector<std::pair<int32_t, int64_t>> records_ ABSL_GUARDED_BY(mu_);
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

// True when the members together own every one of `partitions` partitions exactly once, each
// owns `each`, and all are in the same generation.
bool Balanced(const std::vector<Member*>& members, int partitions, size_t each) {
  std::set<int32_t> seen;
  int32_t generation = -1;
  for (const Member* m : members) {
    const auto a = m->assignment();
    if (a.size() != each) return false;
    if (generation != -1 && m->generation() != generation) return false;
    generation = m->generation();
    for (const auto& tp : a) {
      if (!seen.insert(tp.partition).second) return false;
    }
  }
  return seen.size() == size_t(partitions);
}

TEST_CASE("three consumers in one group on a 6-partition topic each get 2 partitions",
          "[groups][integration]") {
  for (const std::string assignor : {"range", "roundrobin", "cooperative-sticky"}) {
    INFO("assignor " << assignor);
    TempDir dir;
    BrokerProcess broker(dir.path() + "/data", GroupBrokerArgs(dir));
    REQUIRE(Admin(broker)->CreateTopic("orders", 6).ok());
    auto tweak = [&](client::GroupConsumerConfig& c) { c.assignors = {assignor}; };
    Member a(broker, "g", "orders", tweak), b(broker, "g", "orders", tweak),
        c(broker, "g", "orders", tweak);
    CHECK(WaitFor([&] { return Balanced({&a, &b, &c}, 6, 2); }, 30s));
    auto info = Admin(broker)->DescribeGroup("g");
    REQUIRE(info.ok());
    CHECK(info->state == "Stable");
    CHECK(info->members.size() == 3);
    CHECK(info->protocol_name == assignor);
    for (const auto& m : info->members) CHECK(m.assignment.size() == 2);
    // One leaves: the other two share its partitions.
    c.Stop();
    CHECK(WaitFor([&] { return Balanced({&a, &b}, 6, 3); }, 30s));
    CHECK(a.error().ok());
    CHECK(b.error().ok());
    CHECK(c.error().ok());
  }
}

// The offsets in a `strata consume --format json` output file (complete lines only).
std::vector<std::pair<int32_t, int64_t>> ParseJsonRecords(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::pair<int32_t, int64_t>> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.back() != '}') continue;
    const size_t p = line.find("\"partition\":");
    const size_t o = line.find("\"offset\":");
    if (p == std::string::npos || o == std::string::npos) continue;
    out.emplace_back(std::stoi(line.substr(p + 12)), std::stoll(line.substr(o + 9)));
  }
  return out;
}

// How many sockets process `pid` has open (its /proc/<pid>/fd entries that are sockets).
int SocketsOf(pid_t pid) {
  int sockets = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (!ec && target.string().rfind("socket:", 0) == 0) ++sockets;
  }
  return sockets;
}

TEST_CASE("kill -9 of a member: its partitions move after the session timeout, every record is "
          "processed, and duplicates come only after its last commit",
          "[groups][integration]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data", GroupBrokerArgs(dir));
  REQUIRE(Admin(broker)->CreateTopic("events", 6).ok());
  Produce(broker, "events", 0, 3000, "before");

  // The victim is the real CLI in its own process, so it can die without cleaning up.
  const std::string out_path = dir.path() + "/victim.jsonl";
  const pid_t victim = fork();
  REQUIRE(victim >= 0);
  if (victim == 0) {
    const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDOUT_FILENO);
    const std::string bootstrap = broker.bootstrap();
    execl(STRATA_CLI_PATH, STRATA_CLI_PATH, "--bootstrap", bootstrap.c_str(), "consume", "events",
          "--group", "g", "--from", "earliest", "--follow", "--format", "json",
          "--commit-interval-ms", "200", "--session-timeout-ms", "2000", "--assignor", "range",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  auto tweak = [](client::GroupConsumerConfig& c) { c.assignors = {"range"}; };
  Member a(broker, "g", "events", tweak), b(broker, "g", "events", tweak);

  // Wait until the three share the partitions and the first 3000 records are consumed.
  auto admin = Admin(broker);
  std::map<std::string, std::vector<TopicPartition>> owners;
  REQUIRE(WaitFor(
      [&] {
        auto info = admin->DescribeGroup("g");
        if (!info.ok() || info->state != "Stable" || info->members.size() != 3) return false;
        owners.clear();
        for (const auto& m : info->members) {
          if (m.assignment.size() != 2) return false;
          owners[m.member_id] = m.assignment;
        }
        std::set<std::pair<int32_t, int64_t>> all;
        for (const auto& r : a.records()) all.insert(r);
        for (const auto& r : b.records()) all.insert(r);
        for (const auto& r : ParseJsonRecords(out_path)) all.insert(r);
        return all.size() >= 3000;
      },
      60s));
  // The victim's partitions: those not owned by a or b.
  std::set<int32_t> survivor_parts;
  for (const auto& tp : a.assignment()) survivor_parts.insert(tp.partition);
  for (const auto& tp : b.assignment()) survivor_parts.insert(tp.partition);
  std::set<int32_t> victim_parts;
  for (int32_t p = 0; p < 6; ++p) {
    if (!survivor_parts.contains(p)) victim_parts.insert(p);
  }
  REQUIRE(victim_parts.size() == 2);

  // A commit the victim sent just before dying may still land: the broker finishes the requests
  // of a connection before it closes it. So wait until every connection of the victim is closed
  // (the CLI talks only to the broker, so its sockets are those connections); then nothing else
  // commits its partitions until the group gives them to a or b.
  const auto connections_open = [&] {
    return MetricValue(FetchMetrics(broker.metrics_port()), "strata_connections_open").value_or(-1);
  };
  const double open_before = connections_open();
  const int victim_connections = SocketsOf(victim);
  REQUIRE(victim_connections > 0);
  ::kill(victim, SIGKILL);
  ::waitpid(victim, nullptr, 0);
  REQUIRE(WaitFor([&] { return connections_open() <= open_before - victim_connections; }, 10s));
  auto committed = admin->GroupOffsets("g");
  REQUIRE(committed.ok());
  std::map<int32_t, int64_t> last_commit;
  for (int32_t p : victim_parts) {
    auto it = committed->find(TopicPartition{"events", p});
    last_commit[p] = it != committed->end() ? it->second.offset : 0;
  }
  const auto victim_records = ParseJsonRecords(out_path);

  // Records produced during the failure.
  Produce(broker, "events", 3000, 6000, "during");
  const auto ends = LogEnds(broker, "events");
  int64_t total = 0;
  for (const auto& [p, end] : ends) total += end;
  REQUIRE(total == 6000);

  REQUIRE(WaitFor(
      [&] {
        std::set<std::pair<int32_t, int64_t>> all(victim_records.begin(), victim_records.end());
        for (const auto& r : a.records()) all.insert(r);
        for (const auto& r : b.records()) all.insert(r);
        return int64_t(all.size()) == total;
      },
      60s));
  CHECK(WaitFor([&] { return Balanced({&a, &b}, 6, 3); }, 10s));

  // Nothing lost: every offset of every partition was processed by someone.
  std::map<std::pair<int32_t, int64_t>, int> times;
  for (const auto& r : victim_records) ++times[r];
  for (const auto& r : a.records()) ++times[r];
  for (const auto& r : b.records()) ++times[r];
  for (const auto& [p, end] : ends) {
    for (int64_t o = 0; o < end; ++o) {
      INFO("partition " << p << " offset " << o);
      REQUIRE(times.contains({p, o}));
    }
  }
  // Duplicates only on the victim's partitions, and only at or after its last commit.
  int64_t duplicates = 0;
  for (const auto& [record, n] : times) {
    if (n == 1) continue;
    ++duplicates;
    INFO("partition " << record.first << " offset " << record.second << " seen " << n << " times");
    REQUIRE(victim_parts.contains(record.first));
    CHECK(record.second >= last_commit[record.first]);
  }
  // The survivors resumed each of the victim's partitions exactly at its last commit.
  for (int32_t p : victim_parts) {
    int64_t first = INT64_MAX;
    for (const Member* m : {&a, &b}) {
      for (const auto& [part, offset] : m->records()) {
        if (part == p) first = std::min(first, offset);
      }
    }
    INFO("partition " << p);
    CHECK(first == last_commit[p]);
  }
  WARN("duplicates after the kill: " << duplicates);
  a.Stop();
  b.Stop();
  CHECK(a.error().ok());
  CHECK(b.error().ok());
}

TEST_CASE("two groups on one topic both receive every record", "[groups][integration]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data", GroupBrokerArgs(dir));
  REQUIRE(Admin(broker)->CreateTopic("shared", 4).ok());
  Produce(broker, "shared", 0, 1000);
  Member billing(broker, "billing", "shared"), audit(broker, "audit", "shared");
  auto count = [](const Member& m) {
    auto r = m.records();
    return std::set<std::pair<int32_t, int64_t>>(r.begin(), r.end()).size();
  };
  CHECK(WaitFor([&] { return count(billing) == 1000 && count(audit) == 1000; }, 30s));
  Produce(broker, "shared", 1000, 1500);
  CHECK(WaitFor([&] { return count(billing) == 1500 && count(audit) == 1500; }, 30s));
  billing.Stop();
  audit.Stop();
  CHECK(billing.records().size() == 1500);  // no redelivery without a failure
  CHECK(audit.records().size() == 1500);
  auto groups = Admin(broker)->ListGroups();
  REQUIRE(groups.ok());
  CHECK(groups->size() == 2);
}

TEST_CASE("restarted consumers resume from committed offsets; committed offsets survive broker "
          "restarts after SIGTERM and kill -9",
          "[groups][integration]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data", GroupBrokerArgs(dir));
  REQUIRE(Admin(broker)->CreateTopic("jobs", 4).ok());
  Produce(broker, "jobs", 0, 800);
  std::set<std::pair<int32_t, int64_t>> first_run;
  {
    Member a(broker, "workers", "jobs"), b(broker, "workers", "jobs");
    REQUIRE(WaitFor(
        [&] {
          std::set<std::pair<int32_t, int64_t>> all;
          for (const Member* m : {&a, &b}) {
            for (const auto& r : m->records()) all.insert(r);
          }
          first_run = all;
          return all.size() == 800;
        },
        30s));
  }  // both close: commit and leave
  auto admin = Admin(broker);
  auto ends = LogEnds(broker, "jobs");
  auto committed = admin->GroupOffsets("workers");
  REQUIRE(committed.ok());
  for (const auto& [p, end] : ends) {
    INFO("partition " << p);
    CHECK((*committed)[TopicPartition{"jobs", p}].offset == end);
  }

  // New consumers of the group see only what came after the commit.
  Produce(broker, "jobs", 800, 1000);
  {
    Member a(broker, "workers", "jobs"), b(broker, "workers", "jobs");
    std::vector<std::pair<int32_t, int64_t>> second;
    CHECK(WaitFor(
        [&] {
          second = a.records();
          auto more = b.records();
          second.insert(second.end(), more.begin(), more.end());
          return second.size() >= 200;
        },
        30s));
    std::this_thread::sleep_for(500ms);
    second = a.records();
    auto more = b.records();
    second.insert(second.end(), more.begin(), more.end());
    CHECK(second.size() == 200);
    for (const auto& r : second) CHECK(!first_run.contains(r));
  }
  const auto before_restart = admin->GroupOffsets("workers");
  REQUIRE(before_restart.ok());

  SECTION("SIGTERM") { CHECK(broker.Terminate() == 0); }
  SECTION("kill -9") { broker.Kill(); }
  broker.Restart();
  auto after = Admin(broker)->GroupOffsets("workers");
  REQUIRE(after.ok());
  REQUIRE(after->size() == before_restart->size());
  for (const auto& [tp, c] : *before_restart) {
    INFO(tp.topic << "-" << tp.partition);
    CHECK((*after)[tp].offset == c.offset);
  }
  // And a member of the restarted broker resumes there: nothing old comes back.
  Produce(broker, "jobs", 1000, 1050);
  Member c(broker, "workers", "jobs");
  CHECK(WaitFor([&] { return c.records().size() >= 50; }, 30s));
  std::this_thread::sleep_for(300ms);
  CHECK(c.records().size() == 50);
}

TEST_CASE("a static member restarted within its session timeout keeps its partitions without a "
          "rebalance",
          "[groups][integration]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data", GroupBrokerArgs(dir));
  REQUIRE(Admin(broker)->CreateTopic("static", 4).ok());
  auto named = [](const std::string& id) {
    return [id](client::GroupConsumerConfig& c) {
      c.group_instance_id = id;
      c.session_timeout_ms = 10'000;
      c.assignors = {"range"};
    };
  };
  auto a = std::make_unique<Member>(broker, "s", "static", named("a"));
  Member b(broker, "s", "static", named("b"));
  REQUIRE(WaitFor([&] { return Balanced({a.get(), &b}, 4, 2); }, 30s));
  const auto a_partitions = a->assignment();
  const auto b_partitions = b.assignment();
  const int32_t generation = b.generation();
  a->Stop();  // a static member does not leave the group when it closes
  a.reset();
  auto info = Admin(broker)->DescribeGroup("s");
  REQUIRE(info.ok());
  CHECK(info->members.size() == 2);
  a = std::make_unique<Member>(broker, "s", "static", named("a"));
  CHECK(WaitFor([&] { return a->assignment() == a_partitions; }, 30s));
  CHECK(a->generation() == generation);
  // A rebalance would answer b's next heartbeat with REBALANCE_IN_PROGRESS; two accepted ones
  // after a's return show there was none.
  const uint64_t beats = b.heartbeats_accepted();
  CHECK(WaitFor([&] { return b.heartbeats_accepted() >= beats + 2; }, 10s));
  CHECK(b.generation() == generation);
  CHECK(b.assignment() == b_partitions);
}

TEST_CASE("bad group requests get typed errors", "[groups][integration]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data", GroupBrokerArgs(dir));
  REQUIRE(Admin(broker)->CreateTopic("t", 2).ok());
  auto conn = client::Connection::Connect(broker.bootstrap());
  REQUIRE(conn.ok());
  client::Connection& c = **conn;

  client::JoinParams join;
  join.group_id = "g";
  join.client_id = "test";
  join.session_timeout_ms = 5000;
  join.rebalance_timeout_ms = 5000;
  join.protocols = {{"range", "x"}};
  auto first = client::JoinGroupCall(c, join, 10'000);
  REQUIRE(first.ok());
  REQUIRE(first->code == fb::ErrorCode::MEMBER_ID_REQUIRED);
  join.member_id = first->member_id;
  auto joined = client::JoinGroupCall(c, join, 10'000);
  REQUIRE(joined.ok());
  REQUIRE(joined->ok());
  const std::string member = joined->member_id;
  const int32_t generation = joined->generation;
  auto synced = client::SyncGroupCall(c, "g", member, std::nullopt, generation, "range",
                                      {{member, ""}}, 10'000);
  REQUIRE(synced.ok());
  REQUIRE(synced->ok());

  CHECK(client::HeartbeatCall(c, "g", member, std::nullopt, generation)->ok());
  CHECK(client::HeartbeatCall(c, "g", member, std::nullopt, generation - 1)->code ==
        fb::ErrorCode::ILLEGAL_GENERATION);
  CHECK(client::HeartbeatCall(c, "g", "nobody", std::nullopt, generation)->code ==
        fb::ErrorCode::UNKNOWN_MEMBER_ID);
  CHECK(client::SyncGroupCall(c, "g", member, std::nullopt, generation + 5, "range", {}, 5000)
            ->code == fb::ErrorCode::ILLEGAL_GENERATION);

  auto commit = [&](const std::string& m, int32_t gen, const std::string& topic, int32_t p,
                    std::string metadata = "") {
    auto r = client::OffsetCommitCall(c, "g", m, std::nullopt, gen,
                                      {{TopicPartition{topic, p}, {5, std::move(metadata)}}});
    REQUIRE(r.ok());
    return *r;
  };
  CHECK(commit(member, generation, "t", 0).partitions.at({"t", 0}).ok());
  CHECK(commit(member, generation - 1, "t", 0).code == fb::ErrorCode::ILLEGAL_GENERATION);
  CHECK(commit("nobody", generation, "t", 0).code == fb::ErrorCode::UNKNOWN_MEMBER_ID);
  CHECK(commit(member, generation, "missing", 0).partitions.at({"missing", 0}).code ==
        fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  CHECK(commit(member, generation, "t", 7).partitions.at({"t", 7}).code ==
        fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION);
  const std::string big(limits::offset_metadata_bytes_max + 1, 'm');
  CHECK(commit(member, generation, "t", 1, big).partitions.at({"t", 1}).code ==
        fb::ErrorCode::OFFSET_METADATA_TOO_LARGE);
  CHECK(commit("", -1, "t", 0).code == fb::ErrorCode::UNKNOWN_MEMBER_ID);  // the group has a member
  auto fetched = client::OffsetFetchCall(c, "g", member, generation - 1, std::nullopt);
  REQUIRE(fetched.ok());
  CHECK(fetched->code == fb::ErrorCode::ILLEGAL_GENERATION);
  fetched = client::OffsetFetchCall(c, "g", "", -1, std::nullopt);
  REQUIRE(fetched.ok());
  CHECK(fetched->offsets.at({"t", 0}).offset == 5);
  CHECK(!fetched->offsets.contains({"t", 1}));  // the refused commit stored nothing

  client::JoinParams bad = join;
  bad.member_id.clear();
  bad.session_timeout_ms = 10;
  CHECK(client::JoinGroupCall(c, bad, 5000)->code == fb::ErrorCode::INVALID_SESSION_TIMEOUT);
  bad = join;
  bad.group_id = "";
  CHECK(client::JoinGroupCall(c, bad, 5000)->code == fb::ErrorCode::INVALID_GROUP_ID);
  bad = join;
  bad.protocols = {{"some-other-assignor", "x"}};  // a new member no one else can agree with
  bad.member_id.clear();
  CHECK(client::JoinGroupCall(c, bad, 5000)->code == fb::ErrorCode::INCONSISTENT_GROUP_PROTOCOL);

  // Groups: deleting one with a member is refused; internal topics are the broker's.
  auto admin = Admin(broker);
  CHECK(absl::IsFailedPrecondition(admin->DeleteGroup("g")));
  CHECK(absl::IsNotFound(admin->DeleteGroup("nope")));
  CHECK(absl::IsInvalidArgument(admin->CreateTopic("__mine", 1)));
  CHECK(absl::IsInvalidArgument(admin->DeleteTopic("__consumer_offsets")));
  CHECK(absl::IsInvalidArgument(admin->AlterConfigs("__consumer_offsets", {{"retention_ms", "1"}})));
  CHECK(client::LeaveGroupCall(c, "g", member, std::nullopt, "done")->ok());
  CHECK(admin->DeleteGroup("g").ok());
  CHECK(absl::IsNotFound(admin->DescribeGroup("g").status()));
}

// Records the callbacks a member gets, and commits in OnPartitionsRevoked as applications do.
class RecordingListener : public client::RebalanceListener {
 public:
  void OnPartitionsRevoked(const std::vector<TopicPartition>& p) override { Add("revoked", p); }
  void OnPartitionsAssigned(const std::vector<TopicPartition>& p) override { Add("assigned", p); }
  void OnPartitionsLost(const std::vector<TopicPartition>& p) override { Add("lost", p); }
  std::vector<std::pair<std::string, size_t>> events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  void Add(const char* what, const std::vector<TopicPartition>& p) {
    absl::MutexLock lock(&mu_);
    events_.emplace_back(what, p.size());
  }
  mutable absl::Mutex mu_;
  std::vector<std::pair<std::string, size_t>> events_ ABSL_GUARDED_BY(mu_);
};

TEST_CASE("rebalance callbacks, async commits, and a member that stops polling is removed",
          "[groups][integration]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data", GroupBrokerArgs(dir));
  REQUIRE(Admin(broker)->CreateTopic("cb", 4).ok());
  Produce(broker, "cb", 0, 100);
  RecordingListener listener;
  auto eager = [](client::GroupConsumerConfig& c) {
    c.assignors = {"range"};
    c.max_poll_interval_ms = 1500;
  };
  Member a(broker, "cbg", "cb", eager, &listener);
  REQUIRE(WaitFor([&] { return a.assignment().size() == 4; }, 30s));
  CHECK(listener.events() == std::vector<std::pair<std::string, size_t>>{{"assigned", 4}});
  REQUIRE(WaitFor([&] { return a.records().size() == 100; }, 30s));

  // An async commit reports its outcome through its callback, in a later Poll.
  a.CommitAsyncSoon();
  REQUIRE(WaitFor([&] { return !a.async_results().empty(); }, 10s));
  CHECK(a.async_results()[0].ok());
  auto committed = Admin(broker)->GroupOffsets("cbg");
  REQUIRE(committed.ok());
  int64_t sum = 0;
  for (const auto& [tp, c] : *committed) sum += c.offset;
  CHECK(sum == 100);

  // A second member: the eager protocol revokes all four, then assigns two.
  Member b(broker, "cbg", "cb", eager);
  REQUIRE(WaitFor([&] { return Balanced({&a, &b}, 4, 2); }, 30s));
  auto events = listener.events();
  REQUIRE(events.size() >= 3);
  CHECK(events[1] == std::make_pair(std::string("revoked"), size_t{4}));
  CHECK(events.back() == std::make_pair(std::string("assigned"), size_t{2}));

  // b stops calling Poll: after max_poll_interval_ms it leaves, and a takes everything.
  b.Pause();
  CHECK(WaitFor([&] { return a.assignment().size() == 4; }, 30s));
  // When b polls again it learns it lost its partitions, and rejoins.
  b.Resume();
  CHECK(WaitFor([&] { return Balanced({&a, &b}, 4, 2); }, 30s));
  CHECK(a.error().ok());
  CHECK(b.error().ok());
}

TEST_CASE("group metrics: committed offset, lag and the age of the oldest unconsumed record",
          "[groups][integration]") {
  TempDir dir;
  BrokerProcess broker(dir.path() + "/data", GroupBrokerArgs(dir));
  REQUIRE(Admin(broker)->CreateTopic("m", 1).ok());
  Produce(broker, "m", 0, 100);
  std::this_thread::sleep_for(1100ms);  // the oldest unconsumed record is over a second old
  REQUIRE(Admin(broker)->CommitGroupOffsets("lagging", {{TopicPartition{"m", 0}, 40}}).ok());
  const std::string metrics = FetchMetrics(broker.metrics_port());
  const std::string labels = "{group=\"lagging\",topic=\"m\",partition=\"0\"}";
  CHECK(MetricValue(metrics, "strata_group_committed_offset" + labels) == 40);
  CHECK(MetricValue(metrics, "strata_group_lag" + labels) == 60);
  CHECK(MetricValue(metrics, "strata_group_oldest_unconsumed_age_seconds" + labels).value_or(0) >=
        1.0);
  CHECK(MetricValue(metrics, "strata_group_members{group=\"lagging\",state=\"Empty\"}") == 0);
  Member m(broker, "lagging", "m");
  CHECK(WaitFor([&] { return m.records().size() == 60; }, 30s));
  m.Stop();
  const std::string after = FetchMetrics(broker.metrics_port());
  CHECK(MetricValue(after, "strata_group_lag" + labels) == 0);
  CHECK(MetricValue(after, "strata_group_oldest_unconsumed_age_seconds" + labels) == 0);
  CHECK(MetricValue(after, "strata_group_rebalances_total{group=\"lagging\"}").value_or(0) >= 1);
  CHECK(MetricValue(after, "strata_group_rebalance_duration_seconds_count{group=\"lagging\"}")
            .value_or(0) >= 1);
}

}  // namespace
}  // namespace strata::test
