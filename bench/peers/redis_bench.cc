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

// An XADD reply: an id, or an error whose text this returns ("" for an id). Frees the reply.
std::string XaddError(void* reply) {
  auto* r = static_cast<redisReply*>(reply);
  std::string error = r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "";
  freeReplyObject(r);
  return error;
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
  RunProduceMode(o, stats, [&](const ProducerSlot& slot) {
    redisContext* c = Connect(o);
    XaddCommand xadd(slot.stream);
    std::vector<int64_t> sent_ns(size_t(o.window));
    std::string value;
    int64_t sent = 0, answered = 0, last_ns = 0;
    auto read_one = [&] {
      void* r = nullptr;
      if (redisGetReply(c, &r) != REDIS_OK) Fatal(c, "reading an XADD reply");
      last_ns = NowNs();
      const std::string error = XaddError(r);
      if (error.empty()) {
        stats.Count(o.record_bytes, last_ns - sent_ns[size_t(answered % o.window)]);
      } else {
        stats.Error(error);
      }
      ++answered;
    };
    slot.start();
    while (sent < slot.count) {
      const int64_t now_ns = NowNs();
      value.assign(slot.Value(sent));
      WriteStamp(value, now_ns);
      xadd.Append(c, value);
      sent_ns[size_t(sent % o.window)] = now_ns;
      ++sent;
      if (sent - answered >= o.window) read_one();
    }
    while (answered < sent) read_one();
    redisFree(c);
    return last_ns;
  });
}

// --- sync: one XADD at a time -------------------------------------------------------------------

void Sync(const PeerOptions& o) {
  PeerStats stats;
  redisContext* c = Connect(o);
  XaddCommand xadd(o.stream);
  std::string value;
  RunSyncMode(o, stats, [&](std::string_view v) {
    value.assign(v);
    xadd.Append(c, value);
    void* r = nullptr;
    if (redisGetReply(c, &r) != REDIS_OK) Fatal(c, "reading an XADD reply");
    return XaddError(r);
  });
  redisFree(c);
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
  RunReplayMode(o, stats, [&](int64_t) {
    const int64_t n = XRead(c, o.stream, last_id, o.batch, -1,
                            [&](std::string_view v, int64_t) { stats.Count(int64_t(v.size())); });
    if (n > 0) return std::string();
    return "the stream ended after " + std::to_string(stats.records.load()) + " entries";
  });
  redisFree(c);
}

// --- e2e: open-loop producer, tailing consumer ------------------------------------------------

void E2e(const PeerOptions& o) {
  E2eWindow window(o);
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
  std::vector<int64_t> intended(size_t(o.window));
  int64_t sent = 0, answered = 0;
  auto take = [&](void* reply) {
    const std::string error = XaddError(reply);
    if (!error.empty()) {
      window.sends.Error(error);
    } else if (intended[size_t(answered % o.window)] >= window.measure_start_ns) {
      acked_counted.fetch_add(1);
    }
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
  window.SendOpenLoop([&](const std::string& value, int64_t due_ns) {
    xadd.Append(c, value);
    intended[size_t(sent % o.window)] = due_ns;
    ++sent;
    int done = 0;
    while (!done) {
      if (redisBufferWrite(c, &done) != REDIS_OK) Fatal(c, "sending XADD");
    }
    read_available(sent - answered >= o.window);
    return true;
  });
  while (answered < sent) read_available(true);
  redisFree(c);
  window.AwaitReceptions(acked_counted);
  stop.store(true);
  consumer.join();
  window.Report(acked_counted.load(), "entries");
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
