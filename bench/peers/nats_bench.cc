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
      if (st->record_latency) st->stats->Count(natsMsg_GetDataLength(msg), now_ns - *sent_ns);
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
  RunProduceMode(o, stats, [&](const ProducerSlot& slot) {
    AckState ack;
    ack.stats = &stats;
    Client client(o, o.window, &ack);
    client.AddStream(slot.stream);
    std::string value;
    slot.start();
    for (int64_t i = 0; i < slot.count; ++i) {
      value.assign(slot.Value(i));
      WriteStamp(value, NowNs());
      natsStatus s =
          js_PublishAsync(client.js, slot.stream.c_str(), value.data(), int(value.size()), nullptr);
      if (s != NATS_OK) {
        stats.Error(std::string("js_PublishAsync: ") + natsStatus_GetText(s));
        break;
      }
    }
    client.Complete();
    return ack.last_ack_ns.load();
  });
}

// --- sync: one js_Publish at a time ------------------------------------------------------------

void Sync(const PeerOptions& o) {
  PeerStats stats;
  Client client(o, 0, nullptr);
  client.AddStream(o.stream);
  RunSyncMode(o, stats, [&](std::string_view value) {
    jsPubAck* pa = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = js_Publish(&pa, client.js, o.stream.c_str(), value.data(), int(value.size()),
                              nullptr, &jerr);
    jsPubAck_Destroy(pa);
    return s == NATS_OK ? std::string() : std::string("js_Publish: ") + natsStatus_GetText(s);
  });
}

// --- replay ------------------------------------------------------------------------------------

void Replay(const PeerOptions& o) {
  PeerStats stats;
  Client client(o, 0, nullptr);
  const bool pull = o.consumer != "ordered";
  natsSubscription* sub = client.Subscribe(o.stream, pull);
  RunReplayMode(o, stats, [&](int64_t remaining) {
    if (pull) {
      natsMsgList list = {};
      jsErrCode jerr = jsErrCode(0);
      const int64_t want = std::min(o.batch, remaining);
      natsStatus s = natsSubscription_Fetch(&list, sub, int(want), 5000, &jerr);
      if (s != NATS_OK) return std::string("natsSubscription_Fetch: ") + natsStatus_GetText(s);
      for (int i = 0; i < list.Count; ++i) stats.Count(natsMsg_GetDataLength(list.Msgs[i]));
      natsMsgList_Destroy(&list);
      return std::string();
    }
    natsMsg* m = nullptr;
    natsStatus s = natsSubscription_NextMsg(&m, sub, 5000);
    if (s != NATS_OK) return std::string("natsSubscription_NextMsg: ") + natsStatus_GetText(s);
    stats.Count(natsMsg_GetDataLength(m));
    natsMsg_Destroy(m);
    return std::string();
  });
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
}

// --- e2e: open-loop publisher, ordered consumer ------------------------------------------------

void E2e(const PeerOptions& o) {
  AckState ack;
  ack.record_latency = false;
  Client client(o, o.window, &ack);
  client.AddStream(o.stream);
  Client consumer_client(o, 0, nullptr);
  natsSubscription* sub = consumer_client.Subscribe(o.stream, /*pull=*/false);

  // Connected and subscribed: the open loop starts 50 ms from now.
  E2eWindow window(o);
  ack.stats = &window.sends;  // nothing is published before this
  ack.measure_start_ns = window.measure_start_ns;
  std::atomic<bool> stop{false};
  std::thread consumer([&] {
    while (!stop.load()) {
      natsMsg* m = nullptr;
      natsStatus s = natsSubscription_NextMsg(&m, sub, 100);
      if (s == NATS_TIMEOUT) continue;
      if (s != NATS_OK) {
        window.stats.Error(std::string("natsSubscription_NextMsg: ") + natsStatus_GetText(s));
        return;
      }
      const int64_t now_ns = NowNs();
      const std::string_view v(natsMsg_GetData(m), size_t(natsMsg_GetDataLength(m)));
      const std::optional<int64_t> intended_ns = ReadStamp(v);
      if (intended_ns) window.CountReception(*intended_ns, now_ns, int64_t(v.size()));
      natsMsg_Destroy(m);
    }
  });

  window.SendOpenLoop([&](const std::string& value, int64_t) {
    natsStatus s =
        js_PublishAsync(client.js, o.stream.c_str(), value.data(), int(value.size()), nullptr);
    if (s == NATS_OK) return true;
    window.sends.Error(std::string("js_PublishAsync: ") + natsStatus_GetText(s));
    return false;
  });
  client.Complete();
  window.AwaitReceptions(ack.acked_counted);
  stop.store(true);
  consumer.join();
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  window.Report(ack.acked_counted.load(), "messages");
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
