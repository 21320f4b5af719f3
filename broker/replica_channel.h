// TcpReplicaChannel: the broker's transport for replication/'s ReplicaChannel. A follower's
// fetch travels as the native protocol's Fetch (api 8) with replica_id set, over one blocking TCP
// connection to the leader broker, opened on first use and again after any failure.
//
// Outgoing connections are bound to this broker's own host (when it is a specific address), so
// that a fault harness can cut one broker's links by source address.
//
// One fetcher thread uses a channel; Interrupt may come from another thread.
#pragma once

#include <chrono>
#include <string>

#include "absl/synchronization/mutex.h"
#include "replication/channel.h"

namespace strata::broker {

class TcpReplicaChannel final : public replication::ReplicaChannel {
 public:
  // `bind_host`: the local address for outgoing connections ("" or "0.0.0.0": any).
  TcpReplicaChannel(std::string host, uint16_t port, std::string bind_host,
                    std::chrono::milliseconds connect_timeout);
  ~TcpReplicaChannel() override;

  absl::StatusOr<replication::ReplicaFetchResponse> Fetch(
      const replication::ReplicaFetchRequest& request) override;
  void Interrupt() override;

 private:
  absl::Status Connect();
  void Close();

  const std::string host_;
  const uint16_t port_;
  const std::string bind_host_;
  const std::chrono::milliseconds connect_timeout_;
  uint32_t next_correlation_id_ = 1;
  absl::Mutex mu_;  // guards fd_ against Interrupt
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
  bool interrupted_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace strata::broker
