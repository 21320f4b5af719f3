// A librdkafka producer and consumer for bench/kafka_compare.sh: the same shapes as
// `strata bench produce` (W1: one producer, 1 KiB records, pipelined, acks=1) and
// `strata bench consume` (W4: replay the topic from the start), through Strata's Kafka listener
// (or any Kafka broker). Prints one JSON object like `strata bench --json` does.
//
//   kafka_bench produce BOOTSTRAP TOPIC RECORDS [RECORD_BYTES] [ACKS] [COMPRESSION]
//   kafka_bench consume BOOTSTRAP TOPIC RECORDS
//   kafka_bench replay HOST:PORT TOPIC RECORDS
//
// `replay` is no librdkafka: one connection sending Fetch v11 for partition 0 with Strata's own
// Kafka codec (protocol/kafka/), 1 MiB each, the next one sent as soon as an answer's batch
// headers say where it ends (so the broker works while this decodes), checking every batch's
// CRC-32C and decoding every record in place (record::OpenKafkaBatch), as `strata bench consume`
// checks every batch's checksum and decodes every record as a view. It measures the broker's Kafka path without librdkafka's consumer,
// whose per-message cost (a message object, clock reads, queue hand-offs) bounds W4 on two cores
// (docs/kafka.md#performance).
//
// The producer's settings mirror the native client's defaults (docs/client.md): batches of up to
// 128 KiB, linger 1 ms, idempotence off, no compression unless asked.
#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "bench/blocking_socket.h"
#include "protocol/kafka/frame.h"
#include "protocol/kafka/kafka_messages.h"
#include "record/batch.h"
#include "record/kafka_batch.h"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "kafka_bench: %s\n", what.c_str());
  std::exit(1);
}

void Set(rd_kafka_conf_t* conf, const char* key, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, key, value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    Die(std::string("setting ") + key + ": " + err);
  }
}

struct Delivery {
  long delivered = 0;
  long errors = 0;
  std::string first_error;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* d = static_cast<Delivery*>(opaque);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (d->errors++ == 0) d->first_error = rd_kafka_err2str(m->err);
  } else {
    ++d->delivered;
  }
}

void Print(const char* mode, const std::string& topic, long records, size_t bytes, double seconds,
           long errors, const std::string& first_error) {
  std::printf(
      "{\"mode\":\"%s\",\"client\":\"librdkafka %s\",\"topic\":\"%s\",\"records\":%ld,"
      "\"bytes\":%zu,\"seconds\":%.3f,\"msgs_per_s\":%.1f,\"mib_per_s\":%.3f,\"errors\":%ld,"
      "\"first_error\":%s}\n",
      mode, rd_kafka_version_str(), topic.c_str(), records, bytes, seconds, records / seconds,
      bytes / seconds / (1 << 20), errors,
      first_error.empty() ? "null" : ("\"" + first_error + "\"").c_str());
}

int Produce(const std::string& bootstrap, const std::string& topic, long records,
            size_t record_bytes, const std::string& acks, const std::string& compression) {
  char err[512];
  Delivery delivery;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  Set(conf, "bootstrap.servers", bootstrap);
  Set(conf, "acks", acks);
  Set(conf, "linger.ms", "1");
  Set(conf, "batch.size", "131072");
  Set(conf, "compression.type", compression);
  Set(conf, "queue.buffering.max.messages", "1000000");
  Set(conf, "queue.buffering.max.kbytes", "1048576");
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  rd_kafka_conf_set_opaque(conf, &delivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) Die(err);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);

  std::vector<char> value(record_bytes);
  std::mt19937_64 rng(1);
  for (auto& c : value) c = static_cast<char>(rng());
  const auto start = Clock::now();
  for (long i = 0; i < records; ++i) {
    const std::string key = std::to_string(i);
    while (rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, value.data(),
                            value.size(), key.data(), key.size(), nullptr) != 0) {
      if (rd_kafka_last_error() != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        Die(std::string("produce: ") + rd_kafka_err2str(rd_kafka_last_error()));
      }
      rd_kafka_poll(rk, 1);
    }
    rd_kafka_poll(rk, 0);
  }
  while (delivery.delivered + delivery.errors < records) rd_kafka_poll(rk, 10);
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  Print("produce", topic, delivery.delivered, delivery.delivered * record_bytes, seconds,
        delivery.errors, delivery.first_error);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
  return delivery.errors == 0 ? 0 : 1;
}

int Consume(const std::string& bootstrap, const std::string& topic, long records) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  Set(conf, "bootstrap.servers", bootstrap);
  Set(conf, "group.id", "kafka-bench");  // required by the API; no group is joined (assign)
  Set(conf, "enable.auto.commit", "false");
  Set(conf, "fetch.max.bytes", "52428800");
  Set(conf, "max.partition.fetch.bytes", "8388608");
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (rk == nullptr) Die(err);
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Die("cannot read the topic's metadata");
  }
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(0);
  for (int i = 0; i < md->topics[0].partition_cnt; ++i) {
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), md->topics[0].partitions[i].id)
        ->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  rd_kafka_poll_set_consumer(rk);
  if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR) Die("assign failed");
  // Measured from the first record, as `strata bench consume` measures once it is connected and
  // positioned: librdkafka connects and looks up the start offset in the background after assign.
  Clock::time_point start;
  long got = 0, errors = 0;
  size_t bytes = 0;
  std::string first_error;
  while (got < records) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 1000);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (got == 0) start = Clock::now();
      ++got;
      bytes += m->len;
    } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (errors++ == 0) first_error = rd_kafka_message_errstr(m);
      if (errors > 100) Die("consume: " + first_error);
    }
    rd_kafka_message_destroy(m);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  Print("consume", topic, got, bytes, seconds, errors, first_error);
  rd_kafka_topic_partition_list_destroy(parts);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return 0;
}

int Replay(const std::string& address, const std::string& topic, long records) {
  namespace kafka = strata::protocol::kafka;
  const size_t colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(std::atoi(address.c_str() + colon + 1)));
  if (colon == std::string::npos ||
      inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    Die("replay takes HOST:PORT with an IPv4 host");
  }
  const int fd = strata::bench::ConnectTo(addr);
  if (fd < 0) Die("cannot connect to " + address);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  constexpr int16_t kVersion = 11;
  int64_t offset = 0;
  long got = 0;
  size_t bytes = 0;
  int32_t correlation = 0;
  std::vector<std::byte> response;
  strata::record::Record record;
  const auto send_fetch = [&](int64_t from) {
    kafka::FetchRequest req;
    req.replica_id = -1;
    req.max_wait_ms = 500;
    req.min_bytes = 1;
    req.max_bytes = 1 << 20;
    auto& t = req.topics.emplace_back();
    t.topic = topic;
    t.partitions.push_back({0, -1, from, -1, 1 << 20});
    kafka::Writer w;
    w.I32(0);
    w.I16(kafka::FetchRequest::kApiKey);
    w.I16(kVersion);
    w.I32(++correlation);
    w.NullableString(std::string("kafka-bench"), false);
    req.Encode(w, kVersion);
    w.PatchI32(0, int32_t(w.size() - 4));
    const auto frame = w.Flatten();
    if (!strata::bench::WriteFull(fd, frame.data(), frame.size())) Die("write failed");
  };
  // Whole batches of an answer's records, and the offset after the last one.
  const auto split = [](std::span<const std::byte> rest, int64_t* next) {
    std::vector<std::span<const std::byte>> batches;
    while (rest.size() >= strata::record::kafka_batch_format::kHeaderBytes) {
      kafka::Reader h(rest.first(strata::record::kafka_batch_format::kHeaderBytes));
      const int64_t base = h.I64();
      const size_t size = 12 + uint32_t(h.I32());
      h.Sub(11);  // leader epoch, magic, crc, attributes
      const int32_t last_delta = h.I32();
      if (size > rest.size()) break;  // a partial batch at the end of the answer
      batches.push_back(rest.first(size));
      *next = base + last_delta + 1;
      rest = rest.subspan(size);
    }
    return batches;
  };
  const auto start = Clock::now();
  send_fetch(offset);
  bool in_flight = true;
  while (got < records && in_flight) {
    std::byte size_field[4];
    if (!strata::bench::ReadFull(fd, size_field, 4)) Die("read failed");
    kafka::Reader size_reader(size_field);
    response.resize(uint32_t(size_reader.I32()));
    if (!strata::bench::ReadFull(fd, response.data(), response.size())) Die("read failed");
    in_flight = false;
    kafka::Reader r(response);
    r.I32();  // correlation id
    kafka::FetchResponse resp;
    resp.Decode(r, kVersion);
    if (!r.ok()) Die("undecodable Fetch response: " + r.error());
    const auto& p = resp.responses.at(0).partitions.at(0);
    if (p.error_code != 0) Die("Fetch error " + std::to_string(p.error_code));
    std::vector<std::span<const std::byte>> batches;
    if (p.records.has_value() && !p.records->pieces.empty()) {
      batches = split(p.records->pieces[0], &offset);
    }
    if (offset < p.high_watermark) {
      send_fetch(offset);  // the broker reads and sends while this decodes
      in_flight = true;
    }
    for (const auto& batch : batches) {
      if (got >= records) break;
      auto reader = strata::record::OpenKafkaBatch(batch);
      if (!reader.ok()) Die(std::string(reader.status().message()));
      for (;;) {
        auto more = reader->NextInto(record);
        if (!more.ok()) Die(std::string(more.status().message()));
        if (!*more) break;
        ++got;
        bytes += record.value ? record.value->size() : 0;
      }
    }
  }
  if (got < records) Die("the topic holds fewer records than asked");
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ::close(fd);
  Print("replay", topic, got, bytes, seconds, 0, "");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr,
                 "usage: kafka_bench produce BOOTSTRAP TOPIC RECORDS [RECORD_BYTES] [ACKS] "
                 "[COMPRESSION]\n"
                 "       kafka_bench consume BOOTSTRAP TOPIC RECORDS\n"
                 "       kafka_bench replay HOST:PORT TOPIC RECORDS\n");
    return 2;
  }
  const std::string mode = argv[1];
  const long records = std::atol(argv[4]);
  if (mode == "produce") {
    return Produce(argv[2], argv[3], records, argc > 5 ? std::atol(argv[5]) : 1024,
                   argc > 6 ? argv[6] : "1", argc > 7 ? argv[7] : "none");
  }
  if (mode == "consume") return Consume(argv[2], argv[3], records);
  if (mode == "replay") return Replay(argv[2], argv[3], records);
  Die("mode must be produce or consume");
}
