// KafkaConnection: one Kafka client's TCP connection to the Kafka-compatible listener
// (docs/kafka.md).
//
// Kafka clients rely on responses arriving in request order (kafka-python pipelines its first
// requests and matches by order), and Kafka's own broker serves one request per connection at a
// time. So does this: one coroutine on the connection's strand reads a frame, awaits its handler,
// writes the response (Fetch records straight from the segment mappings, scatter-gather), and
// reads the next. Clients that pipeline (librdkafka keeps up to 5 produce requests in flight)
// queue in the socket buffer meanwhile. Frame bytes are reserved from the broker-wide
// RequestMemory budget before they are read, and the same idle and slow-frame timeouts apply as
// on the native listener. A frame whose size is invalid, or a request that cannot be decoded,
// closes the connection, as Kafka does.
#pragma once

#include <chrono>
#include <memory>

#include "broker/asio.h"
#include "broker/config.h"
#include "broker/kafka_handler.h"
#include "broker/metrics.h"
#include "broker/request_memory.h"
#include "broker/server.h"

namespace strata::broker {

class KafkaConnection : public Session, public std::enable_shared_from_this<KafkaConnection> {
 public:
  KafkaConnection(asio::ip::tcp::socket socket, KafkaHandler* handler, BrokerMetrics* metrics,
                  RequestMemory* memory, const BrokerConfig* config);
  ~KafkaConnection() override;

  void Start() override;
  void Drain() override;
  void Close() override;

 private:
  asio::awaitable<void> Serve();
  asio::awaitable<void> Watchdog();
  void CloseNow();

  asio::ip::tcp::socket socket_;
  KafkaHandler* const handler_;
  BrokerMetrics* const metrics_;
  RequestMemory* const memory_;
  const BrokerConfig* const config_;
  std::string peer_host_;

  // Used only on the socket's strand.
  bool open_ = true;
  bool draining_ = false;
  bool busy_ = false;  // a request is being handled or answered: Drain lets it finish
  asio::steady_timer watchdog_;
  std::chrono::steady_clock::time_point deadline_;
  bool frame_started_ = false;
};

}  // namespace strata::broker
