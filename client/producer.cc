#include "client/producer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client/error_status.h"
#include "client/metadata.h"
#include "common/endian.h"
#include "common/limits.h"
#include "record/batch_format.h"
#include "protocol/init_producer_id_generated.h"
#include "protocol/produce_generated.h"

namespace strata::client {

namespace fb = protocol::fb;
namespace bf = record::batch_format;

namespace {

// A Produce request stops taking batches once they add up to this, so the request (plus one more
// maximal batch) always fits in a frame.
constexpr size_t kRequestBatchBytes = limits::frame_bytes_max / 2;
static_assert(kRequestBatchBytes + limits::batch_bytes_max < limits::frame_bytes_max);
// Room for a Produce request's own fields, and for each batch's vector, table and topic entry,
// when sizing its builder (an underestimate only costs one more reallocation).
constexpr size_t kRequestOverheadBytes = 256;
// How much longer than the request's own timeout_ms the client waits for the answer, so the
// broker's REQUEST_TIMED_OUT normally arrives before the client gives up on the connection.
constexpr int64_t kResponseGraceMs = 5000;

// A record's default timestamp. The system clock directly: absl::Now() cost more per record.
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Sequence numbers wrap from INT32_MAX to 0 (docs/partition.md).
int32_t AddSequence(int32_t sequence, int32_t count) {
  return int32_t((int64_t(sequence) + count) % (int64_t(INT32_MAX) + 1));
}

enum class Action { kDone, kRetry, kFail };

ClusterClientOptions ClusterOptions(const ProducerConfig& config) {
  ClusterClientOptions options;
  options.bootstrap = config.bootstrap;
  options.connection.client_software_name = config.client_name;
  options.connection.connect_timeout_ms = config.connect_timeout_ms;
  options.connection.request_timeout_ms = config.request_timeout_ms + kResponseGraceMs;
  options.connection.required_apis = {protocol::ApiKey::kMetadata, protocol::ApiKey::kProduce};
  if (config.idempotent && config.acks != 0) {
    options.connection.required_apis.push_back(protocol::ApiKey::kInitProducerId);
  }
  options.refresh_backoff_ms = config.retry_backoff_ms;
  return options;
}

}  // namespace

struct Producer::Outcome {
  std::unique_ptr<ProducerBatch> batch;
  Action action = Action::kFail;
  int64_t base_offset = -1;
  absl::Status status;
};

Producer::Producer(ProducerConfig config)
    : config_(std::move(config)),
      accumulator_(RecordAccumulator::Options{config_.batch_bytes, config_.linger_ms,
                                              config_.buffer_bytes, config_.compression}),
      cluster_(ClusterOptions(config_)) {
  absl::MutexLock lock(&conn_mu_);
  drop_responses_ = config_.TEST_drop_responses;
}

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(ProducerConfig config) {
  if (config.acks != 0 && config.acks != 1 && config.acks != -1) {
    return absl::InvalidArgumentError(
        absl::StrCat("acks must be 0, 1 or -1 (all), not ", config.acks));
  }
  if (config.batch_bytes == 0 || config.batch_bytes > limits::batch_bytes_max) {
    return absl::InvalidArgumentError(absl::StrCat("batch_bytes must be in [1, ",
                                                   limits::batch_bytes_max, "], not ",
                                                   config.batch_bytes));
  }
  if (config.buffer_bytes < bf::kHeaderBytes + 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("buffer_bytes ", config.buffer_bytes, " is too small to hold a record"));
  }
  if (config.linger_ms < 0 || config.max_block_ms < 0 || config.request_timeout_ms <= 0 ||
      config.delivery_timeout_ms <= 0 || config.retry_backoff_ms < 0) {
    return absl::InvalidArgumentError("producer timeouts must be positive");
  }
  std::unique_ptr<Producer> producer(new Producer(std::move(config)));
  {
    absl::MutexLock lock(&producer->conn_mu_);
    STRATA_RETURN_IF_ERROR(producer->EnsureConnectedLocked());
    if (producer->idempotent()) STRATA_RETURN_IF_ERROR(producer->InitProducerIdLocked());
  }
  producer->sender_ = std::thread([p = producer.get()] { p->Run(); });
  return producer;
}

Producer::~Producer() { Close(); }

int64_t Producer::producer_id() const {
  absl::MutexLock lock(&conn_mu_);
  return producer_id_;
}

absl::Status Producer::EnsureConnectedLocked() { return cluster_.Any().status(); }

absl::Status Producer::InitProducerIdLocked() {
  // Any broker hands out producer ids (they are unique across the cluster).
  STRATA_ASSIGN_OR_RETURN(Connection * conn, cluster_.Any());
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(fb::CreateInitProducerIdRequest(fbb));
  STRATA_ASSIGN_OR_RETURN(
      Response response, conn->Call(protocol::ApiKey::kInitProducerId, protocol::BuilderBytes(fbb)));
  STRATA_ASSIGN_OR_RETURN(const fb::InitProducerIdResponse* body,
                          CheckResponse<fb::InitProducerIdResponse>(
                              response.body, "InitProducerIdResponse", "InitProducerId"));
  if (body->producer_id() < 0) {
    return absl::DataLossError(
        absl::StrCat("InitProducerId returned producer id ", body->producer_id()));
  }
  producer_id_ = body->producer_id();
  producer_epoch_ = body->producer_epoch();
  next_sequence_.clear();
  return absl::OkStatus();
}

void Producer::ResetProducerIdLocked() {
  producer_id_ = -1;
  producer_epoch_ = -1;
  next_sequence_.clear();
}

absl::Status Producer::RefreshMetadataLocked(const std::string& topic) {
  STRATA_ASSIGN_OR_RETURN(ClusterMetadata md, cluster_.Refresh({topic}));
  STRATA_ASSIGN_OR_RETURN(TopicInfo info, TopicFrom(md, topic));
  const int32_t partitions = int32_t(info.partitions.size());
  absl::MutexLock lock(&meta_mu_);
  TopicMeta& meta = topics_[topic];
  if (meta.partitions != partitions) {
    meta.partitions = partitions;
    meta.sticky = std::make_unique<record::StickyPartitioner>(partitions);
  }
  return absl::OkStatus();
}

absl::Status Producer::EnsureMetadata(std::string_view topic, SendDeadline& deadline) {
  {
    absl::MutexLock lock(&meta_mu_);
    if (topics_.contains(topic)) return absl::OkStatus();
  }
  if (!conn_mu_.LockWhenWithDeadline(absl::Condition::kTrue, deadline.Get())) {
    conn_mu_.Unlock();
    return absl::ResourceExhaustedError(
        absl::StrCat("could not get the metadata of topic '", std::string(topic),
                     "' within max_block_ms"));
  }
  absl::Status st = RefreshMetadataLocked(std::string(topic));
  conn_mu_.Unlock();
  return st;
}

absl::StatusOr<int32_t> Producer::PartitionsFor(const std::string& topic) {
  SendDeadline deadline(absl::Milliseconds(config_.max_block_ms));
  STRATA_RETURN_IF_ERROR(EnsureMetadata(topic, deadline));
  absl::MutexLock lock(&meta_mu_);
  return topics_.at(topic).partitions;
}

absl::StatusOr<int32_t> Producer::ChoosePartition(const ProducerRecordView& record,
                                                  SendDeadline& deadline) {
  STRATA_RETURN_IF_ERROR(EnsureMetadata(record.topic, deadline));
  absl::MutexLock lock(&meta_mu_);
  const TopicMeta& meta = topics_.find(record.topic)->second;  // EnsureMetadata added it
  if (record.partition) {
    if (*record.partition < 0 || *record.partition >= meta.partitions) {
      return absl::NotFoundError(absl::StrCat("topic '", std::string(record.topic), "' has partitions 0..",
                                              meta.partitions - 1, "; there is no partition ",
                                              *record.partition));
    }
    return *record.partition;
  }
  if (record.key) return record::PartitionForKey(*record.key, meta.partitions);
  return meta.sticky->Current();
}

void Producer::StickyBatchCompleted(const TopicPartition& tp) {
  absl::MutexLock lock(&meta_mu_);
  auto it = topics_.find(tp.topic);
  if (it != topics_.end() && it->second.sticky != nullptr && tp.partition < it->second.partitions) {
    it->second.sticky->BatchCompleted(tp.partition);
  }
}

absl::Status Producer::Send(const ProducerRecordView& record, SendCallback callback) {
  return Queue(record, std::move(callback), false);
}

absl::Status Producer::Queue(const ProducerRecordView& record, SendCallback callback,
                             bool caller_sends) {
  if (accumulator_.closed()) {
    return absl::FailedPreconditionError("the producer is closed; create a new one to send");
  }
  SendDeadline deadline(absl::Milliseconds(config_.max_block_ms));
  STRATA_ASSIGN_OR_RETURN(const int32_t partition, ChoosePartition(record, deadline));
  record::RecordInput input;
  input.timestamp_ms = record.timestamp_ms >= 0 ? record.timestamp_ms : NowMs();
  if (record.key) input.key = *record.key;
  if (record.value) input.value = *record.value;
  for (const Header& h : record.headers) {
    record::RecordHeader rh;
    rh.key = h.key;
    if (h.value) rh.value = *h.value;
    input.headers.push_back(rh);
  }
  TopicPartition tp{std::string(record.topic), partition};
  STRATA_ASSIGN_OR_RETURN(RecordAccumulator::AppendResult result,
                          accumulator_.Append(tp, input, std::move(callback), deadline,
                                              caller_sends));
  if (result.batch_full && !record.key && !record.partition) StickyBatchCompleted(tp);
  return absl::OkStatus();
}

std::future<absl::StatusOr<RecordMetadata>> Producer::Send(const ProducerRecordView& record) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<RecordMetadata>>>();
  std::future<absl::StatusOr<RecordMetadata>> future = promise->get_future();
  absl::Status st = Send(record, [promise](absl::StatusOr<RecordMetadata> md) {
    promise->set_value(std::move(md));
  });
  if (!st.ok()) promise->set_value(std::move(st));
  return future;
}

void Producer::Flush() { accumulator_.Flush(); }

void Producer::Close() {
  {
    absl::MutexLock lock(&close_mu_);
    if (closed_) return;
    closed_ = true;
  }
  accumulator_.Close();
  if (sender_.joinable()) sender_.join();
}

// --- The sender thread ---------------------------------------------------------------------------

void Producer::Run() {
  for (;;) {
    absl::Time next_retry = absl::InfiniteFuture();
    std::set<TopicPartition> muted;
    bool sent = false;
    {
      absl::MutexLock lock(&send_mu_);
      if (accumulator_.ClosedAndDrained() && retries_.empty()) return;
      const absl::Time now = absl::Now();
      sent = SendRoundLocked(now, now, &next_retry, &muted);
    }
    if (!sent) accumulator_.WaitForWork(next_retry, muted);
  }
}

bool Producer::SendRoundLocked(absl::Time now, absl::Time drain_at, absl::Time* next_retry,
                               std::set<TopicPartition>* muted) {
  std::vector<std::unique_ptr<ProducerBatch>> batches;
  for (auto it = retries_.begin(); it != retries_.end();) {
    muted->insert(it->first);
    if (it->second->retry_at <= now) {
      batches.push_back(std::move(it->second));
      it = retries_.erase(it);
    } else {
      *next_retry = std::min(*next_retry, it->second->retry_at);
      ++it;
    }
  }
  for (auto& batch : accumulator_.Drain(drain_at, *muted, kRequestBatchBytes)) {
    StickyBatchCompleted(batch->tp);
    batches.push_back(std::move(batch));
  }
  if (batches.empty()) return false;
  SendBatches(std::move(batches));
  return true;
}

absl::StatusOr<RecordMetadata> Producer::SendSync(const ProducerRecordView& record) {
  // The outcome, set by the callback on this thread (the usual case) or on the sender thread.
  struct Outcome {
    absl::StatusOr<RecordMetadata> result;
    absl::Notification done;
  };
  auto outcome = std::make_shared<Outcome>();
  // Queued first, without holding send_mu_: a full buffer makes Queue wait for the sender thread
  // to free space, which it can only do in a round of its own.
  STRATA_RETURN_IF_ERROR(Queue(
      record,
      [outcome](absl::StatusOr<RecordMetadata> md) {
        outcome->result = std::move(md);
        outcome->done.Notify();
      },
      /*caller_sends=*/true));
  bool retrying = false;
  {
    // If the sender thread holds it, it is in a round this record would have waited for anyway.
    absl::MutexLock lock(&send_mu_);
    // Nothing lingers for a caller that waits: drain as if every linger had passed.
    const absl::Time now = absl::Now();
    absl::Time next_retry = absl::InfiniteFuture();
    std::set<TopicPartition> muted;
    (void)SendRoundLocked(now, now + absl::Milliseconds(config_.linger_ms), &next_retry, &muted);
    retrying = !retries_.empty();
    accumulator_.CallerSent();  // wakes the sender if others' batches are queued
  }
  // A retry this round scheduled is the sender thread's from now on; it may be asleep with no
  // retry time to wake for.
  if (retrying) accumulator_.WakeSender();
  outcome->done.WaitForNotification();
  return std::move(outcome->result);
}

absl::Status Producer::Seal(ProducerBatch& batch) {
  if (batch.bytes.empty()) {
    STRATA_ASSIGN_OR_RETURN(batch.bytes, batch.builder->Build());
    batch.builder.reset();  // the bytes are all that is sent from now on
  }
  if (!idempotent() || batch.producer_id == producer_id_) return absl::OkStatus();
  // First send under this producer id: take the partition's next sequence numbers. The fields lie
  // inside the checksum, so it is recomputed.
  int32_t& next = next_sequence_[batch.tp];
  batch.base_sequence = next;
  next = AddSequence(next, batch.record_count());
  batch.producer_id = producer_id_;
  std::byte* h = batch.bytes.data();
  PutI64(h + bf::kProducerIdPos, producer_id_);
  PutI16(h + bf::kProducerEpochPos, producer_epoch_);
  PutI32(h + bf::kBaseSequencePos, batch.base_sequence);
  PutU64(h + bf::kChecksumPos, record::ComputeBatchChecksum(batch.bytes));
  return absl::OkStatus();
}

void Producer::SendBatches(std::vector<std::unique_ptr<ProducerBatch>> batches) {
  std::vector<Outcome> outcomes;
  auto all = [&](std::vector<std::unique_ptr<ProducerBatch>>& list, Action action,
                 const absl::Status& st) {
    for (auto& b : list) {
      if (b != nullptr) outcomes.push_back({std::move(b), action, -1, st});
    }
  };
  {
    absl::MutexLock lock(&conn_mu_);
    // A failed refresh leaves the cache as it was: batches go to the leaders known, and those
    // that cannot be routed wait for the next round.
    (void)cluster_.RefreshIfStale();
    absl::Status st = EnsureConnectedLocked();
    if (st.ok() && idempotent() && producer_id_ < 0) st = InitProducerIdLocked();
    if (!st.ok()) {
      all(batches, Action::kRetry, st);
      batches.clear();
    }
    // Route each batch to its partition's leader.
    std::map<int32_t, std::vector<std::unique_ptr<ProducerBatch>>> by_leader;
    for (auto& b : batches) {
      const std::optional<LeaderInfo> leader = cluster_.Leader(b->tp);
      if (!leader || leader->node_id < 0) {
        cluster_.MarkStale();
        absl::Status none = absl::UnavailableError(absl::StrCat(
            "partition ", b->tp.topic, "-", b->tp.partition,
            " has no leader now (an election is under way, or every in-sync replica is down); "
            "see `strata cluster status`"));
        outcomes.push_back({std::move(b), Action::kRetry, -1, std::move(none)});
        continue;
      }
      absl::Status sealed = Seal(*b);
      if (!sealed.ok()) {
        outcomes.push_back({std::move(b), Action::kFail, -1, sealed});
        continue;
      }
      by_leader[leader->node_id].push_back(std::move(b));
    }
    // Write one request to every leader before reading any answer, so the leaders work on them
    // at the same time; still one request in flight per connection and per partition.
    struct InFlight {
      int32_t node;
      Connection* conn;
      Connection::Pending pending;
    };
    std::vector<InFlight> in_flight;
    for (auto& [node, list] : by_leader) {
      absl::StatusOr<Connection*> conn = cluster_.Node(node);
      if (!conn.ok()) {
        all(list, Action::kRetry, conn.status());
        continue;
      }
      size_t request_bytes = kRequestOverheadBytes;
      std::map<std::string, std::vector<ProducerBatch*>> by_topic;
      for (auto& b : list) {
        request_bytes += b->bytes.size() + b->tp.topic.size() + kRequestOverheadBytes;
        by_topic[b->tp.topic].push_back(b.get());
      }
      // Sized for the whole request up front: growing from a small buffer by doubling copied
      // every batch again at each step and faulted in fresh pages each time.
      flatbuffers::FlatBufferBuilder fbb(request_bytes);
      std::vector<flatbuffers::Offset<fb::TopicProduceData>> topics;
      for (const auto& [topic, batches_of_topic] : by_topic) {
        std::vector<flatbuffers::Offset<fb::PartitionProduceData>> parts;
        for (ProducerBatch* b : batches_of_topic) {
          auto records = fbb.CreateVector(reinterpret_cast<const uint8_t*>(b->bytes.data()),
                                          b->bytes.size());
          parts.push_back(fb::CreatePartitionProduceData(fbb, b->tp.partition, records));
        }
        topics.push_back(fb::CreateTopicProduceDataDirect(fbb, topic.c_str(), &parts));
      }
      fbb.Finish(fb::CreateProduceRequestDirect(fbb, int8_t(config_.acks),
                                                int32_t(config_.request_timeout_ms), &topics));
      for (auto& b : list) b->maybe_written = true;
      if (config_.acks == 0) {
        // The broker never answers acks=0: once written, the records count as sent.
        absl::Status sent = (*conn)->Send(protocol::ApiKey::kProduce, protocol::BuilderBytes(fbb));
        if (!sent.ok()) cluster_.ConnectionFailed(node);
        all(list, sent.ok() ? Action::kDone : Action::kRetry, sent);
        continue;
      }
      absl::StatusOr<Connection::Pending> pending =
          (*conn)->Start(protocol::ApiKey::kProduce, protocol::BuilderBytes(fbb));
      if (!pending.ok()) {
        cluster_.ConnectionFailed(node);
        all(list, Action::kRetry, pending.status());
        continue;
      }
      in_flight.push_back({node, *conn, *pending});
    }
    for (const InFlight& f : in_flight) {
      HandleAnswer(f.node, f.conn->Finish(f.pending), by_leader[f.node], outcomes);
    }
  }
  // Callbacks run without the connection lock, so they may Send.
  for (Outcome& out : outcomes) {
    switch (out.action) {
      case Action::kDone:
        Complete(std::move(out.batch), out.base_offset);
        break;
      case Action::kRetry:
        Retry(std::move(out.batch), std::move(out.status));
        break;
      case Action::kFail:
        Fail(std::move(out.batch), std::move(out.status));
        break;
    }
  }
}

void Producer::HandleAnswer(int32_t node, absl::StatusOr<Response> response,
                            std::vector<std::unique_ptr<ProducerBatch>>& batches,
                            std::vector<Outcome>& outcomes) {
  if (response.ok() && drop_responses_ > 0) {
    --drop_responses_;
    cluster_.ConnectionFailed(node);
    response = absl::UnavailableError(
        "TEST_drop_responses: the Produce response was discarded as if the connection dropped");
  }
  absl::StatusOr<const fb::ProduceResponse*> body =
      response.ok()
          ? CheckResponse<fb::ProduceResponse>(response->body, "ProduceResponse", "Produce")
          : absl::StatusOr<const fb::ProduceResponse*>(response.status());
  if (!body.ok()) {
    const bool retry = absl::IsUnavailable(body.status()) || absl::IsDeadlineExceeded(body.status());
    // The connection closed itself on an I/O error or a timeout: the broker may be gone, and its
    // partitions with it.
    if (!response.ok()) cluster_.ConnectionFailed(node);
    for (auto& b : batches) {
      outcomes.push_back({std::move(b), retry ? Action::kRetry : Action::kFail, -1, body.status()});
    }
    return;
  }
  for (auto& b : batches) {
    Outcome out{std::move(b), Action::kRetry, -1,
                absl::UnavailableError("the Produce answer left out this partition")};
    const TopicPartition tp = out.batch->tp;
    const fb::PartitionProduceResponse* result = nullptr;
    if ((*body)->topics() != nullptr) {
      for (const fb::TopicProduceResponse* t : *(*body)->topics()) {
        if (t->name() == nullptr || t->name()->string_view() != tp.topic) continue;
        if (t->partitions() == nullptr) continue;
        for (const fb::PartitionProduceResponse* p : *t->partitions()) {
          if (p->index() == tp.partition) result = p;
        }
      }
    }
    if (result != nullptr) {
      const fb::ErrorCode code = result->error_code();
      out.status = ErrorToStatus(code, result->error_message(),
                                 absl::StrCat("producing to ", tp.topic, "-", tp.partition));
      if (code == fb::ErrorCode::NONE) {
        out.action = Action::kDone;
        out.base_offset = result->base_offset();
      } else if (IsLeaderError(code)) {
        // Retried with the same bytes at the leader named by the hint (when it is newer than
        // what the cache knows and routable), else at the one the next refresh finds.
        if (!cluster_.ApplyHint(tp, result->leader_id(), result->leader_epoch())) {
          cluster_.MarkStale();
        }
        out.action = Action::kRetry;
      } else if (IsRetriable(code)) {
        out.action = Action::kRetry;
      } else if (code == fb::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION) {
        // Metadata may be stale (a topic being created); retry unless it is truly gone.
        absl::Status refreshed = RefreshMetadataLocked(tp.topic);
        bool exists = refreshed.ok();
        if (exists) {
          absl::MutexLock meta_lock(&meta_mu_);
          exists = tp.partition < topics_[tp.topic].partitions;
        }
        out.action = exists || absl::IsUnavailable(refreshed) ? Action::kRetry : Action::kFail;
      } else if (code == fb::ErrorCode::OUT_OF_ORDER_SEQUENCE ||
                 code == fb::ErrorCode::PRODUCER_FENCED) {
        out.action = Action::kFail;
        ResetProducerIdLocked();
      } else {
        // Not written: the next batch of this partition takes this one's sequences.
        out.action = Action::kFail;
        if (idempotent() && out.batch->producer_id == producer_id_ && producer_id_ >= 0) {
          next_sequence_[tp] = out.batch->base_sequence;
        }
      }
    }
    outcomes.push_back(std::move(out));
  }
}

void Producer::Complete(std::unique_ptr<ProducerBatch> batch, int64_t base_offset) {
  for (int32_t i = 0; i < batch->record_count(); ++i) {
    RecordMetadata md;
    md.topic = batch->tp.topic;
    md.partition = batch->tp.partition;
    md.offset = base_offset >= 0 ? base_offset + i : -1;
    md.timestamp_ms = batch->timestamps_ms[i];
    batch->callbacks[i](std::move(md));
  }
  accumulator_.Deallocate(*batch);
}

void Producer::Fail(std::unique_ptr<ProducerBatch> batch, absl::Status status) {
  for (int32_t i = 0; i < batch->record_count(); ++i) batch->callbacks[i](status);
  accumulator_.Deallocate(*batch);
}

void Producer::Retry(std::unique_ptr<ProducerBatch> batch, absl::Status cause) {
  ++batch->attempts;
  const absl::Time now = absl::Now();
  if (now - batch->created >= absl::Milliseconds(config_.delivery_timeout_ms)) {
    if (batch->maybe_written && idempotent()) {
      // The broker may hold this batch: its sequences are in doubt, so start over with a new id.
      absl::MutexLock lock(&conn_mu_);
      ResetProducerIdLocked();
    }
    absl::Status expired = absl::DeadlineExceededError(absl::StrCat(
        "could not deliver to ", batch->tp.topic, "-", batch->tp.partition, " within ",
        config_.delivery_timeout_ms, " ms (delivery_timeout_ms) after ", batch->attempts,
        " attempts; last error: ", cause.message()));
    Fail(std::move(batch), std::move(expired));
    return;
  }
  const int shift = std::min(batch->attempts - 1, 20);
  const int64_t backoff_ms =
      std::min(config_.retry_backoff_max_ms, config_.retry_backoff_ms << shift);
  batch->retry_at = now + absl::Milliseconds(backoff_ms);
  if (config_.on_retry) {
    config_.on_retry(RetryNotice{batch->tp, cause, batch->attempts,
                                 batch->created + absl::Milliseconds(config_.delivery_timeout_ms)});
  }
  batch->last_error = std::move(cause);
  TopicPartition tp = batch->tp;
  retries_[tp] = std::move(batch);
}

}  // namespace strata::client
