#include "broker/broker.h"

#include "broker/connection.h"
#include "broker/kafka_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/cluster_metrics.h"
#include "broker/group_metrics.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "broker/replica_channel.h"
#include "cluster/etcd_http.h"
#include "common/limits.h"
#include "common/logging.h"
#include "common/process.h"
#include "io/file_system.h"

namespace strata::broker {

namespace {

// `host` when it is an IPv4 address of this machine (a socket can be bound to it), else "" (any).
std::string LocalBindAddress(const std::string& host) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (host == "0.0.0.0" || inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return "";
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok ? host : "";
}
constexpr auto kRetentionInterval = absl::Seconds(5);
}

Broker::Broker(BrokerConfig config)
    : config_(std::move(config)), io_(std::make_unique<asio::io_context>(1)) {}

absl::StatusOr<std::unique_ptr<Broker>> Broker::Start(BrokerConfig config) {
  STRATA_RETURN_IF_ERROR(config.Validate());
  std::unique_ptr<Broker> broker(new Broker(std::move(config)));
  STRATA_RETURN_IF_ERROR(broker->Open());
  return broker;
}

absl::Status Broker::Open() {
  io::FileSystem& fs = io::RealFileSystem();
  // Fail early, with the fix, when the data directory cannot be used.
  if (absl::Status st = fs.CreateDirs(io::JoinPath(config_.data_dir, "meta")); !st.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot use data directory ", config_.data_dir, " (", st.message(),
                     "): make it writable by this user or choose another with --data-dir"));
  }
  const std::string probe = io::JoinPath(io::JoinPath(config_.data_dir, "meta"), ".write-test");
  const std::string probe_text = "ok";
  if (absl::Status st = io::WriteFileAtomic(
          fs, probe, {reinterpret_cast<const std::byte*>(probe_text.data()), probe_text.size()});
      !st.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot write in data directory ", config_.data_dir, " (", st.message(),
                     "): make it writable by this user or choose another with --data-dir"));
  }
  (void)fs.Remove(probe);

  flusher_ = std::make_unique<log::Flusher>();
  file_cache_ = std::make_unique<log::FileCache>(SegmentFilesOpenMax());
  map_cache_ = std::make_unique<log::MapCache>(MappingsOpenMax());
  auto topics = partition::TopicManager::Open(
      &fs, config_.data_dir,
      {.flusher = flusher_.get(),
       .append_path = config_.log_append_path,
       .map_cache = map_cache_.get(),
       .file_cache = file_cache_.get()});
  if (!topics.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot open the topics in ", config_.data_dir, ": ", topics.status().message()));
  }
  topics_ = std::move(*topics);
  STRATA_ASSIGN_OR_RETURN(producer_ids_, ProducerIdAllocator::Open(&fs, config_.data_dir));
  consumer_offsets::CoordinatorConfig groups_config;
  groups_config.group.min_session_timeout_ms = config_.group_min_session_timeout_ms;
  groups_config.group.max_session_timeout_ms = config_.group_max_session_timeout_ms;
  groups_config.group.initial_rebalance_delay_ms = config_.group_initial_rebalance_delay_ms;
  groups_config.offsets_topic.partitions = config_.offsets_topic_partitions;
  groups_config.offsets_topic.segment_bytes = config_.offsets_topic_segment_bytes;
  groups_config.offsets_retention_ms = config_.offsets_retention_ms;
  groups_config.offsets_retention_check_interval_ms = config_.offsets_retention_check_interval_ms;
  groups_config.clustered = config_.clustered();
  auto groups = consumer_offsets::GroupCoordinator::Open(topics_.get(), groups_config);
  if (!groups.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot load the consumer groups in ", config_.data_dir, ": ", groups.status().message()));
  }
  groups_ = std::move(*groups);

  // Bind both listeners before serving anything.
  Services services;
  services.topics = topics_.get();
  services.producer_ids = producer_ids_.get();
  services.fetch_waiters = &fetch_waiters_;
  services.metrics = &metrics_;
  services.groups = groups_.get();
  services.node_id = config_.node_id;
  services.stopping = &stopping_;
  handler_ = std::make_unique<RequestHandler>(services);
  const int threads =
      config_.threads > 0 ? config_.threads
                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  // Thread 0 runs io_ (listeners and the first share of connections); every further thread runs
  // its own worker context.
  std::vector<asio::io_context*> contexts{io_.get()};
  for (int i = 1; i < threads; ++i) {
    workers_.push_back(std::make_unique<asio::io_context>(1));
    contexts.push_back(workers_.back().get());
  }
  STRATA_ASSIGN_OR_RETURN(
      listener_, Listener::Bind(*io_, contexts, config_.listen, "native protocol listener",
                                "--listen", &metrics_, [this](asio::ip::tcp::socket socket) {
                                  return std::make_shared<Connection>(
                                      std::move(socket), handler_.get(), &metrics_,
                                      &request_memory_, &config_);
                                }));
  services.advertised = listener_->address();
  if (!config_.advertised_listen.empty()) {
    STRATA_ASSIGN_OR_RETURN(services.advertised, ParseHostPort(config_.advertised_listen));
  }
  if (config_.kafka_listen.has_value()) {
    STRATA_ASSIGN_OR_RETURN(
        kafka_listener_,
        Listener::Bind(*io_, contexts, *config_.kafka_listen, "Kafka listener", "--kafka-listen",
                       &metrics_, [this](asio::ip::tcp::socket socket) {
                         return std::make_shared<KafkaConnection>(
                             std::move(socket), kafka_handler_.get(), &metrics_,
                             &request_memory_, &config_);
                       }));
    services.kafka_advertised = kafka_listener_->address();
    if (!config_.kafka_advertised_listen.empty()) {
      STRATA_ASSIGN_OR_RETURN(services.kafka_advertised,
                              ParseHostPort(config_.kafka_advertised_listen));
    }
  }
  *handler_ = RequestHandler(services);
  if (config_.metrics_enabled) {
    STRATA_ASSIGN_OR_RETURN(metrics_server_,
                            MetricsServer::Bind(*io_, config_.metrics_listen, [this] {
                              return absl::StrCat(
                                  metrics_.Render(*topics_, config_.node_id),
                                  RenderGroupMetrics(*groups_, *topics_, log::SystemClock()()),
                                  "# HELP strata_request_memory_bytes Request bytes held now "
                                  "(budget: limits::broker_request_bytes_max).\n"
                                  "# TYPE strata_request_memory_bytes gauge\n"
                                  "strata_request_memory_bytes ",
                                  request_memory_.used_bytes(), "\n",
                                  "# HELP strata_segment_files_open Segment files held open by the "
                                  "file cache; _max is its cap.\n"
                                  "# TYPE strata_segment_files_open gauge\n"
                                  "strata_segment_files_open ", file_cache_->size(), "\n",
                                  "strata_segment_files_open_max ", file_cache_->capacity(), "\n",
                                  "# HELP strata_segment_mappings_open Segment mappings held by "
                                  "the map cache; _max is its cap.\n"
                                  "# TYPE strata_segment_mappings_open gauge\n"
                                  "strata_segment_mappings_open ", map_cache_->size(), "\n",
                                  "strata_segment_mappings_open_max ", map_cache_->capacity(),
                                  "\n",
                                  replicas_ != nullptr
                                      ? RenderClusterMetrics(replicas_->view().get(), *replicas_,
                                                             config_.node_id)
                                      : std::string());
                            }));
  }

  if (config_.clustered()) {
    // With both listeners bound (a configuration mistake fails before the broker registers) and
    // before serving: the first view gives every local replica its role. Other brokers that
    // fetch from this one meanwhile wait in the listen backlog.
    STRATA_RETURN_IF_ERROR(JoinCluster(services.advertised, services.kafka_advertised));
    services.replicas = replicas_.get();
    services.cluster = member_.get();
    producer_ids_->UseBlockSource(
        [member = member_.get()](int64_t count) { return member->ReserveProducerIds(count); });
    services.offsets_topic_partitions = config_.offsets_topic_partitions;
    services.offsets_topic_replication_factor = config_.offsets_topic_replication_factor;
    services.offsets_topic_segment_bytes = config_.offsets_topic_segment_bytes;
    *handler_ = RequestHandler(services);
  }
  // The Kafka listener's connections use it from Start on (services are final now).
  kafka_handler_ = std::make_unique<KafkaHandler>(services);

  for (const std::string& name : topics_->List()) {
    auto info = topics_->Describe(name);
    if (!info.ok()) continue;
    for (const auto& p : info->partitions) {
      if (!p.status.ok()) {
        LogEvent(LogLevel::kError, absl::StrCat("partition ", name, "-", p.index,
                                                " is offline: ", p.status.ToString()));
      }
    }
  }

  listener_->Start();
  if (kafka_listener_ != nullptr) kafka_listener_->Start();
  if (metrics_server_ != nullptr) metrics_server_->Start();
  for (asio::io_context* context : contexts) {
    auto work = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(
        context->get_executor());
    threads_.emplace_back([context, work] { context->run(); });
  }
  retention_thread_ = std::thread([this] { RetentionLoop(); });
  compaction_thread_ = std::thread([this] { CompactionLoop(); });
  LogEvent(LogLevel::kInfo,
           absl::StrCat("stratad node ", config_.node_id, " serving ", topics_->List().size(),
                        " topics from ", config_.data_dir, "; native protocol on ",
                        listener_->address().ToString(),
                        kafka_listener_ != nullptr
                            ? absl::StrCat(", kafka protocol on ",
                                           kafka_listener_->address().ToString())
                            : std::string(),
                        ", metrics on ",
                        metrics_server_ != nullptr
                            ? absl::StrCat("http://", metrics_server_->address().ToString(),
                                           "/metrics")
                            : std::string("(off)"),
                        ", ", threads, " io threads"));
  return absl::OkStatus();
}

absl::Status Broker::JoinCluster(const HostPort& advertised,
                                 const std::optional<HostPort>& kafka_advertised) {
  std::vector<std::string> endpoints = absl::StrSplit(config_.etcd, ',', absl::SkipWhitespace());
  // Connections to etcd and to other brokers leave from the advertised address when this machine
  // has it, so that each broker's traffic has its own source (docs/fault-testing.md aims faults at
  // one link that way). An address it does not have (behind NAT, say) is not bound to.
  const std::string bind_host = LocalBindAddress(advertised.host);
  // A loopback source reaches only loopback destinations: with an etcd elsewhere, leave it.
  bool etcd_on_loopback = true;
  for (const std::string& endpoint : endpoints) {
    etcd_on_loopback = etcd_on_loopback && (absl::StartsWith(endpoint, "127.") ||
                                            absl::StartsWith(endpoint, "localhost:"));
  }
  const bool loopback_source = absl::StartsWith(bind_host, "127.");
  STRATA_ASSIGN_OR_RETURN(
      etcd_, cluster::EtcdHttpClient::Create(
                 endpoints, std::chrono::milliseconds(limits::etcd_request_timeout_ms),
                 loopback_source && !etcd_on_loopback ? std::string() : bind_host));
  replication::ReplicaManagerOptions options;
  options.self = config_.node_id;
  options.replica_lag_max_ms = config_.replica_lag_max_ms;
  replication::ReplicaManagerHooks hooks;
  hooks.open_partition = [this](const cluster::TopicRecord& topic, int32_t index) {
    return OpenReplica(topic, index);
  };
  hooks.delete_topic = [this](const std::string& topic) {
    absl::Status st = topics_->Delete(topic);
    if (!st.ok() && !absl::IsNotFound(st)) {
      LogEvent(LogLevel::kError, absl::StrCat("deleting the local replicas of ", topic,
                                              ", deleted from the cluster: ", st.ToString()));
    }
  };
  hooks.on_high_watermark = [this](const cluster::TopicPartitionId& id) {
    fetch_waiters_.Notify(id.topic, id.partition);
  };
  hooks.on_leadership = [this](const cluster::TopicPartitionId& id, bool leader, int32_t) {
    if (id.topic != consumer_offsets::kOffsetsTopic) return;
    auto view = replicas_->view();
    auto topic = view->topics.find(id.topic);
    if (topic == view->topics.end()) return;
    groups_->OnOffsetsLeadership(id.partition, topic->second.partitions(), leader);
  };
  hooks.propose_isr = [this](const cluster::TopicPartitionId& id,
                             const cluster::PartitionState& expected, std::vector<int32_t> isr,
                             std::map<int32_t, int64_t> epochs,
                             std::function<void(absl::Status)> done) {
    member_->AlterIsr(id, expected, std::move(isr), std::move(epochs), std::move(done));
  };
  hooks.channels = [bind_host](int32_t, const std::string& host, uint16_t port) {
    return std::make_unique<TcpReplicaChannel>(
        host, port, bind_host, std::chrono::milliseconds(limits::replica_connect_timeout_ms));
  };
  replicas_ = std::make_unique<replication::ReplicaManager>(options, std::move(hooks));

  cluster::MemberOptions member_options;
  member_options.cluster_name = config_.cluster_name;
  member_options.self.id = config_.node_id;
  member_options.self.host = advertised.host;
  member_options.self.port = advertised.port;
  if (kafka_advertised.has_value()) {
    member_options.self.kafka_host = kafka_advertised->host;
    member_options.self.kafka_port = kafka_advertised->port;
  }
  member_options.lease_ttl_seconds = config_.broker_lease_ttl_s;
  member_options.leader_rebalance_interval_ms = config_.leader_rebalance_interval_ms;
  member_ = std::make_unique<cluster::ClusterMember>(
      *etcd_, member_options,
      [this](std::shared_ptr<const cluster::ClusterView> view) { replicas_->Apply(view); });
  absl::Status st =
      member_->Start(std::chrono::milliseconds(limits::cluster_join_timeout_ms));
  if (!st.ok()) return absl::UnavailableError(st.message());
  LogEvent(LogLevel::kInfo, absl::StrCat("joined cluster `", config_.cluster_name,
                                         "` through etcd at ", config_.etcd, " as broker ",
                                         config_.node_id, " (", advertised.ToString(), ")"));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<partition::Partition>> Broker::OpenReplica(
    const cluster::TopicRecord& topic, int32_t index) {
  if (!topics_->Describe(topic.name).ok()) {
    auto overrides = topic.config;
    overrides["partitions"] = std::to_string(topic.partitions());
    STRATA_ASSIGN_OR_RETURN(auto config,
                            partition::ApplyTopicConfigOverrides(partition::TopicConfig{},
                                                                 overrides));
    absl::Status st = topics_->Create(topic.name, config);
    if (!st.ok() && !absl::IsAlreadyExists(st)) return st;
  }
  return topics_->GetPartition(topic.name, index);
}

size_t Broker::SegmentFilesOpenMax() {
  // What the process may open, less client connections and a reserve for everything else.
  const uint64_t nofile = RaiseFileDescriptorLimit();
  const uint64_t others = limits::connections_max + limits::fds_reserved;
  const uint64_t fit = nofile > others ? nofile - others : 0;
  if (fit >= limits::segment_files_open_max) return limits::segment_files_open_max;
  const size_t files = std::max<uint64_t>(fit, 64);
  LogEvent(LogLevel::kWarn,
           absl::StrCat("the open file limit is ", nofile, " (ulimit -n); with up to ",
                        limits::connections_max, " connections this leaves room for ", files,
                        " open segment files instead of ", limits::segment_files_open_max,
                        ". Partitions beyond that reopen their files as they are used; raise the "
                        "limit (e.g. LimitNOFILE=65536 in a systemd unit) to avoid it"));
  return files;
}

size_t Broker::MappingsOpenMax() {
  // Half of vm.max_map_count at most: threads, libraries and allocations need areas too.
  const std::optional<uint64_t> max_map_count = MaxMapCount();
  if (!max_map_count || *max_map_count / 2 >= limits::mmaps_open_max) {
    return limits::mmaps_open_max;
  }
  const size_t mappings = std::max<uint64_t>(*max_map_count / 2, 64);
  LogEvent(LogLevel::kWarn, absl::StrCat("vm.max_map_count is ", *max_map_count, ": keeping at "
                                         "most ", mappings, " segment mappings instead of ",
                                         limits::mmaps_open_max));
  return mappings;
}

HostPort Broker::metrics_address() const {
  return metrics_server_ != nullptr ? metrics_server_->address() : HostPort{};
}

void Broker::RetentionLoop() {
  while (!stop_requested_.WaitForNotificationWithTimeout(kRetentionInterval)) {
    for (const std::string& name : topics_->List()) {
      auto info = topics_->Describe(name);
      if (!info.ok()) continue;
      for (const auto& p : info->partitions) {
        auto part = topics_->GetPartition(name, p.index);
        if (!part.ok()) continue;
        auto result = (*part)->ApplyRetention();
        if (!result.ok()) {
          LogEvent(LogLevel::kWarn, absl::StrCat("retention of ", name, "-", p.index,
                                                 " failed: ", result.status().ToString()));
        } else if (result->segments_deleted > 0) {
          LogEvent(LogLevel::kInfo,
                   absl::StrCat("retention deleted ", result->segments_deleted, " segments (",
                                result->bytes_deleted, " bytes) of ", name, "-", p.index));
        }
      }
    }
  }
}

void Broker::CompactionLoop() {
  const auto interval = absl::Milliseconds(config_.log_cleaner_interval_ms);
  while (!stop_requested_.WaitForNotificationWithTimeout(interval)) {
    for (const std::string& name : topics_->List()) {
      auto info = topics_->Describe(name);
      if (!info.ok() || info->config.cleanup_policy != partition::CleanupPolicy::kCompact) continue;
      for (const auto& p : info->partitions) {
        if (stop_requested_.HasBeenNotified()) return;
        auto part = topics_->GetPartition(name, p.index);
        if (!part.ok()) continue;
        auto result = (*part)->Compact(log::SystemClock()());
        if (!result.ok()) {
          // Aborted: retention or a truncation got in the way; the next round tries again.
          if (!absl::IsAborted(result.status()) && !absl::IsUnavailable(result.status()) &&
              !absl::IsFailedPrecondition(result.status())) {
            LogEvent(LogLevel::kWarn, absl::StrCat("compaction of ", name, "-", p.index,
                                                   " failed: ", result.status().ToString()));
          }
        } else if (result->segments_cleaned > 0) {
          LogEvent(LogLevel::kInfo,
                   absl::StrCat("compacted ", name, "-", p.index, ": ", result->segments_cleaned,
                                " segments into ", result->segments_written, ", ",
                                result->bytes_before, " -> ", result->bytes_after, " bytes, ",
                                result->records_removed, " records removed (",
                                result->tombstones_removed, " tombstones)"));
        }
      }
    }
  }
}

void Broker::RequestShutdown() {
  if (!stop_requested_.HasBeenNotified()) stop_requested_.Notify();
}

absl::Status Broker::Shutdown() {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return shutdown_status_;
  shut_down_ = true;
  RequestShutdown();
  stopping_.store(true, std::memory_order_release);
  if (threads_.empty()) {  // Start failed before serving; the members' destructors clean up
    stopped_.Notify();
    return shutdown_status_;
  }
  if (member_ != nullptr) {
    // A clean leave first, while still serving: the controller moves this broker's leaderships
    // to in-sync followers, whose clients find them at once (docs/cluster.md#leaving).
    LogEvent(LogLevel::kInfo, "shutting down: handing leaderships over");
    member_->Leave(std::chrono::milliseconds(config_.leadership_handover_ms));
  }
  LogEvent(LogLevel::kInfo, "shutting down: draining connections");
  listener_->Stop();
  if (kafka_listener_ != nullptr) kafka_listener_->Stop();
  if (metrics_server_ != nullptr) metrics_server_->Stop();
  fetch_waiters_.NotifyAll();
  // Waiting JoinGroup/SyncGroup requests answer SHUTTING_DOWN so their connections can drain.
  groups_->Shutdown();
  // Give in-progress requests shutdown_drain_ms to answer, then close what is left.
  const auto drain_deadline = absl::Now() + absl::Milliseconds(config_.shutdown_drain_ms);
  while (metrics_.connections_open.load() > 0 && absl::Now() < drain_deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  listener_->CloseAll();
  if (kafka_listener_ != nullptr) kafka_listener_->CloseAll();
  io_->stop();
  for (auto& w : workers_) w->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (retention_thread_.joinable()) retention_thread_.join();
  // Fetchers stop before the partitions they append to close.
  replicas_.reset();
  // Closing the logs also cuts short a compaction pass in progress.
  shutdown_status_ = topics_->Close();
  if (compaction_thread_.joinable()) compaction_thread_.join();
  if (shutdown_status_.ok()) {
    LogEvent(LogLevel::kInfo, "stopped cleanly: every partition flushed and marked clean");
  } else {
    LogEvent(LogLevel::kError, absl::StrCat("stopped with an error while closing partitions: ",
                                            shutdown_status_.ToString()));
  }
  stopped_.Notify();
  return shutdown_status_;
}

void Broker::Wait() { stopped_.WaitForNotification(); }

Broker::~Broker() {
  absl::Status st = Shutdown();
  (void)st;
  listener_.reset();
  kafka_listener_.reset();
  metrics_server_.reset();
  // io_ first: an accept still queued there when the threads stopped holds a socket of a worker
  // context (connections are accepted straight onto a worker), which must outlive it. The other
  // order was undefined behaviour (UBSan: a socket moved through a destroyed socket service).
  io_.reset();
  workers_.clear();
}

}  // namespace strata::broker
