// redis_bench: the compare workloads (peer_common.h) against Redis Streams, through hiredis.
//
//   produce  XADD stream * v VALUE, pipelined: up to --window commands unanswered per connection
//            (hiredis writes everything appended once it runs out of buffered replies, so
//            commands go out in bursts, one write for many).
//   sync     one XADD, wait for its reply, the next.
//   replay   XREAD COUNT --batch STREAMS stream LAST-ID from 0-0 until --records were read.
//   e2e      an open-loop XADD producer (replies read as they come, without blocking the
//            schedule) and a consumer on its own connection: XREAD BLOCK 100 COUNT --batch.
//
// Durability is the server's: bench/compare.sh runs redis-server with appendonly yes and
// appendfsync everysec (always for W3), under which Redis answers an XADD only after the append
// file was written (and, with always, fsynced).
#include <hiredis/hiredis.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/peers/peer_common.h"

namespace strata::peers {
namespace {

constexpr int64_t kDrainMs = 10'000;

redisContext* Connect(const PeerOptions& o) {
  redisContext* c = redisConnect(o.host.c_str(), o.port);
  if (c == nullptr || c->err) {
    std::fprintf(stderr, "redis_bench: cannot connect to %s:%d: %s\n", o.host.c_str(), o.port,
                 c ? c->errstr : "out of memory");
    std::exit(1);
  }
  return c;
}

[[noreturn]] void Fatal(redisContext* c, const char* what) {
  std::fprintf(stderr, "redis_bench: %s: %s\n", what, c->errstr);
  std::exit(1);
}

// Counts one XADD reply (an id, or an error) into `stats`.
void CountXaddReply(redisReply* r, int64_t sent_ns, int64_t now_ns, int64_t value_bytes,
                    bool counted, PeerStats& stats) {
  if (r->type == REDIS_REPLY_ERROR) {
    stats.Error(std::string(r->str, r->len));
  } else if (counted) {
    stats.records.fetch_add(1, std::memory_order_relaxed);
    stats.bytes.fetch_add(value_bytes, std::memory_order_relaxed);
    stats.latency_us.Record((now_ns - sent_ns) / 1000);
  }
  freeReplyObject(r);
}

struct XaddCommand {
  explicit XaddCommand(const std::string& stream) {
    argv[0] = "XADD";
    argv[1] = stream.c_str();
    argv[2] = "*";
    argv[3] = "v";
    for (int i = 0; i < 4; ++i) len[i] = std::strlen(argv[i]);
  }
  void Append(redisContext* c, const std::string& value) {
    argv[4] = value.data();
    len[4] = value.size();
    if (redisAppendCommandArgv(c, 5, argv, len) != REDIS_OK) Fatal(c, "XADD");
  }
  const char* argv[5];
  size_t len[5];
};

// --- produce: pipelined XADDs on `producers` connections ---------------------------------------

void Produce(const PeerOptions& o) {
  PeerStats stats;
  const ValuePool pool(size_t(o.record_bytes));
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<int64_t> first_ns(o.producers), last_ns(o.producers);
  std::vector<std::thread> threads;
  for (int k = 0; k < o.producers; ++k) {
    threads.emplace_back([&, k] {
      const std::string stream = o.producers == 1 ? o.stream : o.stream + "-" + std::to_string(k);
      const int64_t count = o.records / o.producers + (k < o.records % o.producers ? 1 : 0);
      redisContext* c = Connect(o);
      XaddCommand xadd(stream);
      std::vector<int64_t> sent_ns(size_t(o.window));
      std::string value;
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      int64_t sent = 0, answered = 0;
      auto read_one = [&] {
        void* r = nullptr;
        if (redisGetReply(c, &r) != REDIS_OK) Fatal(c, "reading an XADD reply");
        const int64_t now_ns = NowNs();
        CountXaddReply(static_cast<redisReply*>(r), sent_ns[size_t(answered % o.window)], now_ns,
                       o.record_bytes, true, stats);
        ++answered;
        last_ns[k] = now_ns;
      };
      first_ns[k] = NowNs();
      while (sent < count) {
        const int64_t now_ns = NowNs();
        StampedValue(pool.Value(sent * o.producers + k), now_ns, value);
        xadd.Append(c, value);
        sent_ns[size_t(sent % o.window)] = now_ns;
        ++sent;
        if (sent - answered >= o.window) read_one();
      }
      while (answered < sent) read_one();
      redisFree(c);
    });
  }
  while (ready.load() < o.producers) std::this_thread::yield();
  const std::optional<CpuSample> cpu_start = SampleMachineCpu();  // connected: the window opens
  go.store(true);
  for (std::thread& t : threads) t.join();
  stats.machine_cpu_busy_pct = BusyPercent(cpu_start, SampleMachineCpu());
  const int64_t start = *std::min_element(first_ns.begin(), first_ns.end());
  const int64_t end = *std::max_element(last_ns.begin(), last_ns.end());
  PrintReport(o, stats, double(end - start) / 1e9, true);
}

// --- sync: one XADD at a time -------------------------------------------------------------------

void Sync(const PeerOptions& o) {
  PeerStats stats;
  const ValuePool pool(size_t(o.record_bytes));
  redisContext* c = Connect(o);
  XaddCommand xadd(o.stream);
  std::string value;
  const int64_t measure_start_ns = NowNs() + int64_t(o.warmup_s * 1e9);
  int64_t first_ns = 0, last_ns = 0;
  for (int64_t i = 0; stats.records.load() < o.records; ++i) {
    const int64_t sent_ns = NowNs();
    const bool counted = sent_ns >= measure_start_ns;
    if (counted && first_ns == 0) first_ns = sent_ns;
    value.assign(pool.Value(i));
    xadd.Append(c, value);
    void* r = nullptr;
    if (redisGetReply(c, &r) != REDIS_OK) Fatal(c, "reading an XADD reply");
    last_ns = NowNs();
    CountXaddReply(static_cast<redisReply*>(r), sent_ns, last_ns, o.record_bytes, counted, stats);
    if (stats.errors.load() > 100) break;  // a broken setup, not a slow server
  }
  redisFree(c);
  PrintReport(o, stats, double(last_ns - first_ns) / 1e9, true);
}

// --- replay and the e2e consumer: XREAD --------------------------------------------------------

// Reads up to `batch` entries after `last_id` (updated), calling on_value for each entry's value.
// Returns the number of entries. block_ms < 0: no BLOCK.
template <typename OnValue>
int64_t XRead(redisContext* c, const std::string& stream, std::string& last_id, int64_t batch,
              int64_t block_ms, OnValue on_value) {
  const std::string count = std::to_string(batch), block = std::to_string(block_ms);
  std::vector<const char*> argv;
  std::vector<size_t> len;
  auto arg = [&](const std::string& s) {
    argv.push_back(s.data());
    len.push_back(s.size());
  };
  static const std::string kXread = "XREAD", kCount = "COUNT", kBlock = "BLOCK",
                           kStreams = "STREAMS";
  arg(kXread);
  arg(kCount);
  arg(count);
  if (block_ms >= 0) {
    arg(kBlock);
    arg(block);
  }
  arg(kStreams);
  arg(stream);
  arg(last_id);
  auto* r =
      static_cast<redisReply*>(redisCommandArgv(c, int(argv.size()), argv.data(), len.data()));
  if (r == nullptr) Fatal(c, "XREAD");
  const int64_t now_ns = NowNs();
  int64_t n = 0;
  if (r->type == REDIS_REPLY_ERROR) {
    std::fprintf(stderr, "redis_bench: XREAD: %s\n", r->str);
    std::exit(1);
  }
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
    redisReply* entries = r->element[0]->element[1];
    for (size_t i = 0; i < entries->elements; ++i) {
      redisReply* entry = entries->element[i];
      redisReply* fields = entry->element[1];
      if (fields->elements >= 2) {
        redisReply* v = fields->element[1];
        on_value(std::string_view(v->str, v->len), now_ns);
      }
      ++n;
      if (i + 1 == entries->elements)
        last_id.assign(entry->element[0]->str, entry->element[0]->len);
    }
  }
  freeReplyObject(r);
  return n;
}

void Replay(const PeerOptions& o) {
  PeerStats stats;
  redisContext* c = Connect(o);
  std::string last_id = "0-0";
  const int64_t start_ns = NowNs();
  int64_t last_ns = start_ns;
  while (stats.records.load() < o.records) {
    const int64_t n = XRead(c, o.stream, last_id, o.batch, -1, [&](std::string_view v, int64_t) {
      stats.records.fetch_add(1, std::memory_order_relaxed);
      stats.bytes.fetch_add(int64_t(v.size()), std::memory_order_relaxed);
    });
    if (n == 0) {
      stats.Error("the stream ended after " + std::to_string(stats.records.load()) + " entries");
      break;
    }
    last_ns = NowNs();
  }
  redisFree(c);
  PrintReport(o, stats, double(last_ns - start_ns) / 1e9, false);
}

// --- e2e: open-loop producer, tailing consumer ------------------------------------------------

void E2e(const PeerOptions& o) {
  PeerStats stats;  // the consumer's receptions and end-to-end latencies
  PeerStats sends;  // the producer's errors
  const ValuePool pool(size_t(o.record_bytes));
  E2eWindow window(o, stats);
  const int64_t start_ns = window.start_ns;
  const int64_t measure_start_ns = window.measure_start_ns;
  const int64_t end_ns = window.end_ns;
  std::atomic<int64_t> acked_counted{0};
  std::atomic<bool> stop{false};

  std::thread consumer([&] {
    redisContext* c = Connect(o);
    std::string last_id = "0-0";
    while (!stop.load()) {
      XRead(c, o.stream, last_id, o.batch, 100, [&](std::string_view v, int64_t now_ns) {
        const std::optional<int64_t> intended_ns = ReadStamp(v);
        if (!intended_ns) return;
        window.CountReception(*intended_ns, now_ns, int64_t(v.size()));
      });
    }
    redisFree(c);
  });

  redisContext* c = Connect(o);
  XaddCommand xadd(o.stream);
  std::string value;
  std::vector<int64_t> intended(size_t(o.window));
  int64_t sent = 0, answered = 0;
  auto take = [&](void* reply) {
    auto* r = static_cast<redisReply*>(reply);
    if (r->type == REDIS_REPLY_ERROR) {
      sends.Error(std::string(r->str, r->len));
    } else if (intended[size_t(answered % o.window)] >= measure_start_ns) {
      acked_counted.fetch_add(1);
    }
    freeReplyObject(r);
    ++answered;
  };
  // Takes the replies already here without waiting (or, with `block`, at least one).
  auto read_available = [&](bool block) {
    for (;;) {
      void* r = nullptr;
      if (redisReaderGetReply(c->reader, &r) != REDIS_OK) Fatal(c, "parsing a reply");
      if (r != nullptr) {
        take(r);
        block = false;
        continue;
      }
      if (!block) {
        pollfd p{c->fd, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) return;
      }
      if (redisBufferRead(c) != REDIS_OK) Fatal(c, "reading replies");
    }
  };
  for (int64_t i = 0;; ++i) {
    const int64_t due_ns = IntendedNs(start_ns, o.rate_per_s, i);
    if (due_ns >= end_ns) break;
    SleepUntilNs(due_ns);
    StampedValue(pool.Value(i), due_ns, value);
    xadd.Append(c, value);
    intended[size_t(sent % o.window)] = due_ns;
    ++sent;
    int done = 0;
    while (!done) {
      if (redisBufferWrite(c, &done) != REDIS_OK) Fatal(c, "sending XADD");
    }
    read_available(sent - answered >= o.window);
  }
  while (answered < sent) read_available(true);
  redisFree(c);
  const int64_t drain_end_ns = NowNs() + kDrainMs * 1'000'000;
  while (window.received_counted.load() < acked_counted.load() && NowNs() < drain_end_ns) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop.store(true);
  consumer.join();
  const int64_t missing =
      std::max<int64_t>(0, acked_counted.load() - window.received_counted.load());
  stats.AddErrors(sends.errors.load(), sends.first_error);
  stats.AddErrors(missing, std::to_string(missing) + " acknowledged entries never arrived");
  PrintReport(o, stats, o.duration_s, true);
}

}  // namespace
}  // namespace strata::peers

int main(int argc, char** argv) {
  strata::peers::PeerOptions o;
  o.system = "redis";
  o.stream = "bench";
  strata::peers::ParseOptions(argc, argv, o, "");
  if (o.mode == "produce") strata::peers::Produce(o);
  if (o.mode == "sync") strata::peers::Sync(o);
  if (o.mode == "replay") strata::peers::Replay(o);
  if (o.mode == "e2e") strata::peers::E2e(o);
  return 0;
}
