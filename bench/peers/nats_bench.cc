// nats_bench: the compare workloads (peer_common.h) against NATS JetStream, through libnats (the
// official C client).
//
//   produce  js_PublishAsync with at most --window publishes awaiting their PubAck per connection
//            (jsOptions.PublishAsync.MaxPending); acks counted in the AckHandler.
//   sync     js_Publish: one message, wait for its PubAck, the next.
//   replay   a consumer from the stream's first message: --consumer pull (default: a durable
//            pull consumer, AckNone, natsSubscription_Fetch of --batch messages) or ordered (an
//            ordered push consumer, flow-controlled by the server).
//   e2e      an open-loop async publisher and an ordered push consumer created before it starts.
//
// Each stream (named like its one subject) is created with file storage by the produce, sync and
// e2e modes; bench/compare.sh runs nats-server -js with a fresh store directory and its default
// sync (2.9.10 has no per-message fsync setting: docs/compare.md).
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench/peers/peer_common.h"

namespace strata::peers {
namespace {

constexpr int64_t kDrainMs = 10'000;
constexpr int64_t kApiWaitMs = 30'000;  // JetStream API calls and the final PublishAsyncComplete

[[noreturn]] void Fatal(const char* what, natsStatus s, jsErrCode jerr = jsErrCode(0)) {
  std::fprintf(stderr, "nats_bench: %s: %s (JetStream error %d) %s\n", what, natsStatus_GetText(s),
               int(jerr), nats_GetLastError(nullptr) ? nats_GetLastError(nullptr) : "");
  std::exit(1);
}

// What the AckHandler of one producer counts.
struct AckState {
  PeerStats* stats = nullptr;
  int64_t measure_start_ns = 0;  // acks of messages stamped earlier are not counted
  std::atomic<int64_t> answered{0};
  std::atomic<int64_t> acked_counted{0};
  std::atomic<int64_t> last_ack_ns{0};
  bool record_latency = true;  // produce: send -> ack into stats
};

void OnAck(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* closure) {
  const int64_t now_ns = NowNs();
  auto* st = static_cast<AckState*>(closure);
  if (pae != nullptr) {
    st->stats->Error(pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
  } else {
    const std::optional<int64_t> sent_ns =
        ReadStamp(std::string_view(natsMsg_GetData(msg), size_t(natsMsg_GetDataLength(msg))));
    if (sent_ns && *sent_ns >= st->measure_start_ns) {
      st->acked_counted.fetch_add(1, std::memory_order_relaxed);
      if (st->record_latency) {
        st->stats->records.fetch_add(1, std::memory_order_relaxed);
        st->stats->bytes.fetch_add(natsMsg_GetDataLength(msg), std::memory_order_relaxed);
        st->stats->latency_us.Record((now_ns - *sent_ns) / 1000);
      }
    }
    st->last_ack_ns.store(now_ns, std::memory_order_relaxed);
  }
  st->answered.fetch_add(1, std::memory_order_relaxed);
  natsMsg_Destroy(msg);
}

// One connection and its JetStream context.
struct Client {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;

  // ack: the AckHandler's state for async publishes (nullptr: none).
  Client(const PeerOptions& o, int64_t window, AckState* ack) {
    const std::string url = "nats://" + o.host + ":" + std::to_string(o.port);
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, url.c_str());
    if (s == NATS_OK) s = natsOptions_SetMaxPendingMsgs(opts, 1 << 20);
    if (s == NATS_OK) s = natsConnection_Connect(&nc, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) Fatal(("connecting to " + url).c_str(), s);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = kApiWaitMs;
    if (ack != nullptr) {
      jo.PublishAsync.MaxPending = window;
      jo.PublishAsync.AckHandler = OnAck;
      jo.PublishAsync.AckHandlerClosure = ack;
      jo.PublishAsync.StallWait = kApiWaitMs;  // a full window waits for acks, not fails
    }
    s = natsConnection_JetStream(&js, nc, &jo);
    if (s != NATS_OK) Fatal("JetStream context", s);
  }
  ~Client() {
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
  }

  // Creates the stream `name` (subject `name`, file storage) unless it exists.
  void AddStream(const std::string& name) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name.c_str();
    const char* subjects[] = {name.c_str()};
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_AddStream(&si, js, &cfg, nullptr, &jerr);
    if (s != NATS_OK && jerr != JSStreamNameExistErr) Fatal("js_AddStream", s, jerr);
    jsStreamInfo_Destroy(si);
  }

  // Waits for every async publish to be acknowledged.
  void Complete() {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = kApiWaitMs;
    natsStatus s = js_PublishAsyncComplete(js, &po);
    if (s != NATS_OK) Fatal("js_PublishAsyncComplete", s);
  }

  // An ordered push consumer (or, pull, a durable pull consumer with AckNone) of `stream` from
  // its first message.
  natsSubscription* Subscribe(const std::string& stream, bool pull) {
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str();
    so.Config.DeliverPolicy = js_DeliverAll;
    natsSubscription* sub = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s;
    if (pull) {
      so.Config.AckPolicy = js_AckNone;
      s = js_PullSubscribe(&sub, js, stream.c_str(), "replay", nullptr, &so, &jerr);
    } else {
      so.Ordered = true;
      s = js_SubscribeSync(&sub, js, stream.c_str(), nullptr, &so, &jerr);
    }
    if (s != NATS_OK) Fatal(pull ? "js_PullSubscribe" : "js_SubscribeSync (ordered)", s, jerr);
    if (!pull) natsSubscription_SetPendingLimits(sub, -1, -1);
    return sub;
  }
};

// --- produce: async publishes on `producers` connections ---------------------------------------

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
      AckState ack;
      ack.stats = &stats;
      Client client(o, o.window, &ack);
      client.AddStream(stream);
      std::string value;
      ready.fetch_add(1);
      while (!go.load()) std::this_thread::yield();
      first_ns[k] = NowNs();
      for (int64_t i = 0; i < count; ++i) {
        StampedValue(pool.Value(i * o.producers + k), NowNs(), value);
        natsStatus s =
            js_PublishAsync(client.js, stream.c_str(), value.data(), int(value.size()), nullptr);
        if (s != NATS_OK) {
          stats.Error(std::string("js_PublishAsync: ") + natsStatus_GetText(s));
          break;
        }
      }
      client.Complete();
      last_ns[k] = ack.last_ack_ns.load();
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

// --- sync: one js_Publish at a time ------------------------------------------------------------

void Sync(const PeerOptions& o) {
  PeerStats stats;
  const ValuePool pool(size_t(o.record_bytes));
  Client client(o, 0, nullptr);
  client.AddStream(o.stream);
  const int64_t measure_start_ns = NowNs() + int64_t(o.warmup_s * 1e9);
  int64_t first_ns = 0, last_ns = 0;
  for (int64_t i = 0; stats.records.load() < o.records && stats.errors.load() <= 100; ++i) {
    const std::string_view value = pool.Value(i);
    const int64_t sent_ns = NowNs();
    const bool counted = sent_ns >= measure_start_ns;
    if (counted && first_ns == 0) first_ns = sent_ns;
    jsPubAck* pa = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_Publish(&pa, client.js, o.stream.c_str(), value.data(), int(value.size()),
                              nullptr, &jerr);
    last_ns = NowNs();
    if (s != NATS_OK) {
      stats.Error(std::string("js_Publish: ") + natsStatus_GetText(s));
    } else if (counted) {
      stats.records.fetch_add(1);
      stats.bytes.fetch_add(int64_t(value.size()));
      stats.latency_us.Record((last_ns - sent_ns) / 1000);
    }
    jsPubAck_Destroy(pa);
  }
  PrintReport(o, stats, double(last_ns - first_ns) / 1e9, true);
}

// --- replay ------------------------------------------------------------------------------------

void Replay(const PeerOptions& o) {
  PeerStats stats;
  Client client(o, 0, nullptr);
  const bool pull = o.consumer != "ordered";
  natsSubscription* sub = client.Subscribe(o.stream, pull);
  const int64_t start_ns = NowNs();
  int64_t last_ns = start_ns;
  auto count = [&](natsMsg* m) {
    stats.records.fetch_add(1, std::memory_order_relaxed);
    stats.bytes.fetch_add(natsMsg_GetDataLength(m), std::memory_order_relaxed);
  };
  while (stats.records.load() < o.records) {
    if (pull) {
      natsMsgList list = {};
      jsErrCode jerr = jsErrCode(0);
      const int64_t want = std::min(o.batch, o.records - stats.records.load());
      natsStatus s = natsSubscription_Fetch(&list, sub, int(want), 5000, &jerr);
      if (s != NATS_OK) {
        stats.Error(std::string("natsSubscription_Fetch: ") + natsStatus_GetText(s));
        break;
      }
      for (int i = 0; i < list.Count; ++i) count(list.Msgs[i]);
      natsMsgList_Destroy(&list);
    } else {
      natsMsg* m = nullptr;
      natsStatus s = natsSubscription_NextMsg(&m, sub, 5000);
      if (s != NATS_OK) {
        stats.Error(std::string("natsSubscription_NextMsg: ") + natsStatus_GetText(s));
        break;
      }
      count(m);
      natsMsg_Destroy(m);
    }
    last_ns = NowNs();
  }
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  PrintReport(o, stats, double(last_ns - start_ns) / 1e9, false);
}

// --- e2e: open-loop publisher, ordered consumer ------------------------------------------------

void E2e(const PeerOptions& o) {
  PeerStats stats;  // the consumer's receptions and end-to-end latencies
  PeerStats sends;  // the publisher's errors
  const ValuePool pool(size_t(o.record_bytes));
  AckState ack;
  ack.stats = &sends;
  ack.record_latency = false;
  Client client(o, o.window, &ack);
  client.AddStream(o.stream);
  Client consumer_client(o, 0, nullptr);
  natsSubscription* sub = consumer_client.Subscribe(o.stream, /*pull=*/false);

  E2eWindow window(o, stats);
  const int64_t start_ns = window.start_ns;
  const int64_t measure_start_ns = window.measure_start_ns;
  const int64_t end_ns = window.end_ns;
  ack.measure_start_ns = measure_start_ns;
  std::atomic<bool> stop{false};
  std::thread consumer([&] {
    while (!stop.load()) {
      natsMsg* m = nullptr;
      natsStatus s = natsSubscription_NextMsg(&m, sub, 100);
      if (s == NATS_TIMEOUT) continue;
      if (s != NATS_OK) {
        stats.Error(std::string("natsSubscription_NextMsg: ") + natsStatus_GetText(s));
        return;
      }
      const int64_t now_ns = NowNs();
      const std::string_view v(natsMsg_GetData(m), size_t(natsMsg_GetDataLength(m)));
      const std::optional<int64_t> intended_ns = ReadStamp(v);
      if (intended_ns) window.CountReception(*intended_ns, now_ns, int64_t(v.size()));
      natsMsg_Destroy(m);
    }
  });

  std::string value;
  for (int64_t i = 0;; ++i) {
    const int64_t due_ns = IntendedNs(start_ns, o.rate_per_s, i);
    if (due_ns >= end_ns) break;
    SleepUntilNs(due_ns);
    StampedValue(pool.Value(i), due_ns, value);
    natsStatus s =
        js_PublishAsync(client.js, o.stream.c_str(), value.data(), int(value.size()), nullptr);
    if (s != NATS_OK) {
      sends.Error(std::string("js_PublishAsync: ") + natsStatus_GetText(s));
      break;
    }
  }
  client.Complete();
  const int64_t drain_end_ns = NowNs() + kDrainMs * 1'000'000;
  while (window.received_counted.load() < ack.acked_counted.load() && NowNs() < drain_end_ns) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop.store(true);
  consumer.join();
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  const int64_t missing =
      std::max<int64_t>(0, ack.acked_counted.load() - window.received_counted.load());
  stats.AddErrors(sends.errors.load(), sends.first_error);
  stats.AddErrors(missing, std::to_string(missing) + " acknowledged messages never arrived");
  PrintReport(o, stats, o.duration_s, true);
}

}  // namespace
}  // namespace strata::peers

int main(int argc, char** argv) {
  strata::peers::PeerOptions o;
  o.system = "nats";
  o.window = 4096;
  o.consumer = "pull";
  strata::peers::ParseOptions(argc, argv, o, " [--consumer pull|ordered]");
  if (o.consumer != "pull" && o.consumer != "ordered") {
    std::fprintf(stderr, "nats_bench: --consumer must be pull or ordered\n");
    return 2;
  }
  if (o.mode == "produce") strata::peers::Produce(o);
  if (o.mode == "sync") strata::peers::Sync(o);
  if (o.mode == "replay") strata::peers::Replay(o);
  if (o.mode == "e2e") strata::peers::E2e(o);
  nats_Close();
  return 0;
}
