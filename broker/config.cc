#include "broker/config.h"

#include "common/limits.h"

#include <functional>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace strata::broker {
namespace {

absl::string_view Trim(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

struct TomlValue {
  bool is_string = false;
  std::string text;  // the string's contents, or the integer's digits
};

// One value: a "string" or an integer, optionally followed by a # comment.
absl::StatusOr<TomlValue> ParseTomlValue(absl::string_view raw) {
  TomlValue value;
  if (!raw.empty() && raw.front() == '"') {
    value.is_string = true;
    size_t i = 1;
    for (; i < raw.size() && raw[i] != '"'; ++i) {
      char c = raw[i];
      if (c == '\\') {
        if (++i == raw.size()) break;
        switch (raw[i]) {
          case '"': c = '"'; break;
          case '\\': c = '\\'; break;
          case 'n': c = '\n'; break;
          case 't': c = '\t'; break;
          default:
            return absl::InvalidArgumentError(
                absl::StrCat("unsupported escape \\", std::string(1, raw[i])));
        }
      }
      value.text.push_back(c);
    }
    if (i >= raw.size()) return absl::InvalidArgumentError("unterminated string");
    absl::string_view rest = Trim(raw.substr(i + 1));
    if (!rest.empty() && rest.front() != '#') {
      return absl::InvalidArgumentError(absl::StrCat("unexpected text after the string: ", rest));
    }
    return value;
  }
  absl::string_view text = raw.substr(0, raw.find('#'));
  text = Trim(text);
  int64_t n = 0;
  if (!absl::SimpleAtoi(std::string(text), &n)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "`", text, "` is neither a \"string\" nor an integer; text values need double quotes, e.g. \"",
        text, "\""));
  }
  value.text = std::string(text);
  return value;
}

using Setter = std::function<absl::Status(const TomlValue&, BrokerConfig&)>;

Setter StringKey(std::string BrokerConfig::*field) {
  return [field](const TomlValue& v, BrokerConfig& c) -> absl::Status {
    if (!v.is_string) return absl::InvalidArgumentError("expects a \"string\"");
    c.*field = v.text;
    return absl::OkStatus();
  };
}

template <typename Int>
Setter IntKey(Int BrokerConfig::*field) {
  return [field](const TomlValue& v, BrokerConfig& c) -> absl::Status {
    int64_t n = 0;
    if (v.is_string || !absl::SimpleAtoi(v.text, &n)) {
      return absl::InvalidArgumentError("expects an integer");
    }
    c.*field = static_cast<Int>(n);
    return absl::OkStatus();
  };
}

const std::map<std::string, Setter>& Keys() {
  static const auto* keys = new std::map<std::string, Setter>{
      {"data_dir", StringKey(&BrokerConfig::data_dir)},
      {"listen",
       [](const TomlValue& v, BrokerConfig& c) -> absl::Status {
         if (!v.is_string) return absl::InvalidArgumentError("expects a \"HOST:PORT\" string");
         STRATA_ASSIGN_OR_RETURN(c.listen, ParseHostPort(v.text));
         return absl::OkStatus();
       }},
      {"metrics_listen",
       [](const TomlValue& v, BrokerConfig& c) -> absl::Status {
         if (!v.is_string) {
           return absl::InvalidArgumentError("expects a \"HOST:PORT\" string or \"off\"");
         }
         if (v.text == "off") {
           c.metrics_enabled = false;
           return absl::OkStatus();
         }
         STRATA_ASSIGN_OR_RETURN(c.metrics_listen, ParseHostPort(v.text));
         c.metrics_enabled = true;
         return absl::OkStatus();
       }},
      {"kafka_listen",
       [](const TomlValue& v, BrokerConfig& c) -> absl::Status {
         if (!v.is_string) {
           return absl::InvalidArgumentError("expects a \"HOST:PORT\" string or \"off\"");
         }
         if (v.text == "off") {
           c.kafka_listen.reset();
           return absl::OkStatus();
         }
         STRATA_ASSIGN_OR_RETURN(c.kafka_listen, ParseHostPort(v.text));
         return absl::OkStatus();
       }},
      {"kafka_advertised_listen", StringKey(&BrokerConfig::kafka_advertised_listen)},
      {"node_id", IntKey(&BrokerConfig::node_id)},
      {"threads", IntKey(&BrokerConfig::threads)},
      {"log_level", StringKey(&BrokerConfig::log_level)},
      {"connection_idle_ms", IntKey(&BrokerConfig::connection_idle_ms)},
      {"frame_read_timeout_ms", IntKey(&BrokerConfig::frame_read_timeout_ms)},
      {"shutdown_drain_ms", IntKey(&BrokerConfig::shutdown_drain_ms)},
      {"offsets_topic_partitions", IntKey(&BrokerConfig::offsets_topic_partitions)},
      {"offsets_topic_segment_bytes", IntKey(&BrokerConfig::offsets_topic_segment_bytes)},
      {"offsets_retention_ms", IntKey(&BrokerConfig::offsets_retention_ms)},
      {"offsets_retention_check_interval_ms",
       IntKey(&BrokerConfig::offsets_retention_check_interval_ms)},
      {"group_min_session_timeout_ms", IntKey(&BrokerConfig::group_min_session_timeout_ms)},
      {"group_max_session_timeout_ms", IntKey(&BrokerConfig::group_max_session_timeout_ms)},
      {"group_initial_rebalance_delay_ms",
       IntKey(&BrokerConfig::group_initial_rebalance_delay_ms)},
      {"log_cleaner_interval_ms", IntKey(&BrokerConfig::log_cleaner_interval_ms)},
      {"etcd", StringKey(&BrokerConfig::etcd)},
      {"cluster_name", StringKey(&BrokerConfig::cluster_name)},
      {"advertised_listen", StringKey(&BrokerConfig::advertised_listen)},
      {"broker_lease_ttl_s", IntKey(&BrokerConfig::broker_lease_ttl_s)},
      {"replica_lag_max_ms", IntKey(&BrokerConfig::replica_lag_max_ms)},
      {"leader_rebalance_interval_ms", IntKey(&BrokerConfig::leader_rebalance_interval_ms)},
      {"leadership_handover_ms", IntKey(&BrokerConfig::leadership_handover_ms)},
      {"offsets_topic_replication_factor",
       IntKey(&BrokerConfig::offsets_topic_replication_factor)},
      {"log_append_path",
       [](const TomlValue& v, BrokerConfig& c) -> absl::Status {
         if (v.is_string && v.text == "write") {
           c.log_append_path = log::AppendPath::kWrite;
         } else if (v.is_string && v.text == "mmap") {
           c.log_append_path = log::AppendPath::kMapping;
         } else {
           return absl::InvalidArgumentError("expects \"write\" or \"mmap\"");
         }
         return absl::OkStatus();
       }},
  };
  return *keys;
}

}  // namespace

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("address `", text, "`: ", why,
                                                   " (expected HOST:PORT, e.g. 127.0.0.1:9292)"));
  };
  const size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos) return bad("no port");
  absl::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return bad("no host");
  uint32_t port = 0;
  if (!absl::SimpleAtoi(std::string(text.substr(colon + 1)), &port) || port > 65535) {
    return bad("the port is not a number in [0, 65535]");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

absl::Status BrokerConfig::Validate() const {
  if (data_dir.empty()) return absl::InvalidArgumentError("data_dir: must not be empty");
  if (node_id < 0) return absl::InvalidArgumentError("node_id: must be >= 0");
  if (threads < 0 || threads > 256) {
    return absl::InvalidArgumentError("threads: must be in [0, 256] (0: one per core)");
  }
  if (!ParseLogLevel(log_level).has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("log_level: `", log_level, "` is not one of debug, info, warn, error, off"));
  }
  if (connection_idle_ms < 1000) {
    return absl::InvalidArgumentError("connection_idle_ms: must be at least 1000");
  }
  if (frame_read_timeout_ms < 100) {
    return absl::InvalidArgumentError("frame_read_timeout_ms: must be at least 100");
  }
  if (shutdown_drain_ms < 0) return absl::InvalidArgumentError("shutdown_drain_ms: must be >= 0");
  if (offsets_topic_partitions < 1 || offsets_topic_partitions > limits::topic_partitions_max) {
    return absl::InvalidArgumentError(absl::StrCat("offsets_topic_partitions: must be in [1, ",
                                                   limits::topic_partitions_max, "]"));
  }
  if (offsets_topic_segment_bytes < (1u << 20) || offsets_topic_segment_bytes > (1u << 30)) {
    return absl::InvalidArgumentError(
        "offsets_topic_segment_bytes: must be in [1048576, 1073741824]");
  }
  if (offsets_retention_ms < 1000) {
    return absl::InvalidArgumentError("offsets_retention_ms: must be at least 1000");
  }
  if (offsets_retention_check_interval_ms < 100) {
    return absl::InvalidArgumentError("offsets_retention_check_interval_ms: must be at least 100");
  }
  if (group_min_session_timeout_ms < 1) {
    return absl::InvalidArgumentError("group_min_session_timeout_ms: must be at least 1");
  }
  if (group_max_session_timeout_ms < group_min_session_timeout_ms) {
    return absl::InvalidArgumentError(
        "group_max_session_timeout_ms: must be at least group_min_session_timeout_ms");
  }
  if (group_initial_rebalance_delay_ms < 0) {
    return absl::InvalidArgumentError("group_initial_rebalance_delay_ms: must be >= 0");
  }
  if (log_cleaner_interval_ms < 100) {
    return absl::InvalidArgumentError("log_cleaner_interval_ms: must be at least 100");
  }
  if (kafka_listen.has_value() && kafka_advertised_listen.empty() &&
      (kafka_listen->host == "0.0.0.0" || kafka_listen->host == "::")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kafka_listen: ", kafka_listen->ToString(),
        " listens on every address, which Kafka clients cannot be told to dial; set "
        "kafka_advertised_listen (--kafka-advertised-listen) to the HOST:PORT they reach"));
  }
  if (!kafka_advertised_listen.empty()) {
    auto hp = ParseHostPort(kafka_advertised_listen);
    if (!hp.ok() || hp->port == 0 || hp->host == "0.0.0.0" || hp->host == "::") {
      return absl::InvalidArgumentError(
          "kafka_advertised_listen: expects HOST:PORT with a port and a host Kafka clients can "
          "dial (not 0.0.0.0)");
    }
  }
  if (clustered()) {
    if (cluster_name.empty() || cluster_name.find('/') != std::string::npos) {
      return absl::InvalidArgumentError("cluster_name: must be non-empty, without '/'");
    }
    if (!advertised_listen.empty()) {
      if (auto hp = ParseHostPort(advertised_listen); !hp.ok() || hp->port == 0) {
        return absl::InvalidArgumentError(
            "advertised_listen: expects HOST:PORT with a port, as clients should dial it");
      }
    }
    if (broker_lease_ttl_s < 1 || broker_lease_ttl_s > 60) {
      return absl::InvalidArgumentError("broker_lease_ttl_s: must be in [1, 60]");
    }
    if (replica_lag_max_ms < 100) {
      return absl::InvalidArgumentError("replica_lag_max_ms: must be at least 100");
    }
    if (leader_rebalance_interval_ms < 10) {
      return absl::InvalidArgumentError("leader_rebalance_interval_ms: must be at least 10");
    }
    if (leadership_handover_ms < 0) {
      return absl::InvalidArgumentError("leadership_handover_ms: must be >= 0");
    }
    if (offsets_topic_replication_factor < 1) {
      return absl::InvalidArgumentError("offsets_topic_replication_factor: must be at least 1");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<BrokerConfig> ParseBrokerToml(absl::string_view text, BrokerConfig base) {
  std::map<std::string, int> seen;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const size_t nl = text.find('\n');
    absl::string_view line = Trim(text.substr(0, nl));
    text = nl == absl::string_view::npos ? absl::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    const auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": ", why));
    };
    if (line.front() == '[') return bad("tables are not supported: every key is top-level");
    const size_t eq = line.find('=');
    if (eq == absl::string_view::npos) return bad("expected `key = value`");
    const std::string key(Trim(line.substr(0, eq)));
    const auto it = Keys().find(key);
    if (it == Keys().end()) {
      std::string known;
      for (const auto& [name, setter] : Keys()) absl::StrAppend(&known, known.empty() ? "" : ", ", name);
      return bad(absl::StrCat("unknown key `", key, "`; known keys: ", known));
    }
    if (auto [prev, inserted] = seen.emplace(key, line_no); !inserted) {
      return bad(absl::StrCat("`", key, "` is already set on line ", prev->second));
    }
    auto value = ParseTomlValue(Trim(line.substr(eq + 1)));
    if (!value.ok()) return bad(absl::StrCat(key, ": ", value.status().message()));
    if (absl::Status st = it->second(*value, base); !st.ok()) {
      return bad(absl::StrCat(key, ": ", st.message()));
    }
  }
  STRATA_RETURN_IF_ERROR(base.Validate());
  return base;
}

std::string BrokerConfigHelp() {
  const BrokerConfig d;
  return absl::StrCat(
      "Config file keys (TOML, `key = value`; flags override the file):\n",
      "  data_dir              = \"", d.data_dir, "\"   where topics and metadata live\n",
      "  listen                = \"", d.listen.ToString(), "\"   native protocol listener\n",
      "  metrics_listen        = \"", d.metrics_listen.ToString(),
      "\"   Prometheus /metrics (\"off\" disables)\n",
      "  kafka_listen          = \"off\"   Kafka-compatible listener HOST:PORT (docs/kafka.md)\n",
      "  kafka_advertised_listen = \"\"   address Kafka clients dial (default: the bound "
      "kafka_listen)\n",
      "  node_id               = ", d.node_id, "\n",
      "  threads               = ", d.threads, "   io threads (0: one per core)\n",
      "  log_level             = \"", d.log_level, "\"   debug, info, warn, error, off\n",
      "  connection_idle_ms    = ", d.connection_idle_ms, "\n",
      "  frame_read_timeout_ms = ", d.frame_read_timeout_ms, "\n",
      "  shutdown_drain_ms     = ", d.shutdown_drain_ms, "\n",
      "Consumer groups:\n",
      "  offsets_topic_partitions            = ", d.offsets_topic_partitions,
      "   partitions of __consumer_offsets (at creation)\n",
      "  offsets_topic_segment_bytes         = ", d.offsets_topic_segment_bytes, "\n",
      "  offsets_retention_ms                = ", d.offsets_retention_ms,
      "   offsets of a group empty this long expire\n",
      "  offsets_retention_check_interval_ms = ", d.offsets_retention_check_interval_ms, "\n",
      "  group_min_session_timeout_ms        = ", d.group_min_session_timeout_ms, "\n",
      "  group_max_session_timeout_ms        = ", d.group_max_session_timeout_ms, "\n",
      "  group_initial_rebalance_delay_ms    = ", d.group_initial_rebalance_delay_ms,
      "   a new group's first rebalance waits for more members\n",
      "Storage:\n",
      "  log_cleaner_interval_ms             = ", d.log_cleaner_interval_ms,
      "   how often compacted topics are compacted\n",
      "  log_append_path                     = \"",
      d.log_append_path == log::AppendPath::kWrite ? "write" : "mmap",
      "\"   appends by pwrite (least CPU) or \"mmap\" (fastest I/O thread)\n",
      "Cluster (docs/cluster.md; without etcd the broker runs alone):\n",
      "  etcd                                = \"\"   etcd endpoints HOST:PORT[,HOST:PORT]\n",
      "  cluster_name                        = \"", d.cluster_name,
      "\"   brokers of one cluster share it\n",
      "  advertised_listen                   = \"\"   address for others (default: the bound "
      "listen address)\n",
      "  broker_lease_ttl_s                  = ", d.broker_lease_ttl_s,
      "   silent this long, a broker is taken as gone\n",
      "  replica_lag_max_ms                  = ", d.replica_lag_max_ms,
      "   a follower behind this long leaves the ISR\n",
      "  leader_rebalance_interval_ms        = ", d.leader_rebalance_interval_ms,
      "   pace of moves back to preferred leaders\n",
      "  leadership_handover_ms              = ", d.leadership_handover_ms,
      "   SIGTERM waits this long for leaderships to move\n",
      "  offsets_topic_replication_factor    = ", d.offsets_topic_replication_factor,
      "   replicas of __consumer_offsets (groups wait for this many brokers)\n");
}

}  // namespace strata::broker
