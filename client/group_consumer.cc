#include "client/group_consumer.h"

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/consumer_protocol.h"
#include "client/error_status.h"
#include "client/metadata.h"
#include "client/metadata_cache.h"
#include "common/logging.h"

namespace strata::client {

namespace fb = protocol::fb;

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::span<const std::byte> AsBytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string AsString(const std::vector<std::byte>& b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string Names(const std::vector<TopicPartition>& tps) {
  std::vector<std::string> names;
  for (const auto& tp : tps) names.push_back(absl::StrCat(tp.topic, "-", tp.partition));
  return absl::StrJoin(names, ",");
}

// Codes after which a member starts over as a new member.
bool MemberGone(fb::ErrorCode code) {
  return code == fb::ErrorCode::UNKNOWN_MEMBER_ID || code == fb::ErrorCode::ILLEGAL_GENERATION;
}

bool CoordinatorMoved(fb::ErrorCode code) {
  return code == fb::ErrorCode::COORDINATOR_NOT_AVAILABLE ||
         code == fb::ErrorCode::NOT_COORDINATOR || code == fb::ErrorCode::SHUTTING_DOWN;
}

}  // namespace

GroupConsumer::GroupConsumer(GroupConsumerConfig config, RebalanceListener* listener)
    : config_(std::move(config)), listener_(listener) {}

absl::StatusOr<std::unique_ptr<GroupConsumer>> GroupConsumer::Create(GroupConsumerConfig config,
                                                                    RebalanceListener* listener) {
  if (config.group_id.empty()) {
    return absl::InvalidArgumentError("a group consumer needs a group_id");
  }
  if (config.assignors.empty()) {
    return absl::InvalidArgumentError("a group consumer needs at least one assignor");
  }
  for (const auto& name : config.assignors) {
    if (MakeAssignor(name) == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown assignor '", name, "' (known: ",
                                                     absl::StrJoin(AssignorNames(), ", "), ")"));
    }
  }
  if (config.heartbeat_interval_ms <= 0 || config.heartbeat_interval_ms >= config.session_timeout_ms) {
    return absl::InvalidArgumentError(absl::StrCat(
        "heartbeat_interval_ms (", config.heartbeat_interval_ms,
        ") must be positive and below session_timeout_ms (", config.session_timeout_ms, ")"));
  }
  std::unique_ptr<GroupConsumer> c(new GroupConsumer(std::move(config), listener));
  STRATA_RETURN_IF_ERROR(c->Start());
  return c;
}

absl::Status GroupConsumer::Start() {
  ConsumerConfig fc;
  fc.bootstrap = config_.bootstrap;
  fc.client_name = config_.client_id;
  fc.auto_offset_reset = config_.auto_offset_reset;
  fc.fetch_max_bytes = config_.fetch_max_bytes;
  fc.partition_max_bytes = config_.partition_max_bytes;
  fc.connect_timeout_ms = config_.connect_timeout_ms;
  fc.request_timeout_ms = config_.request_timeout_ms;
  fc.retry_backoff_ms = config_.retry_backoff_ms;
  STRATA_ASSIGN_OR_RETURN(fetcher_, Consumer::Create(fc));
  {
    absl::MutexLock lock(&mu_);
    last_poll_ms_ = NowMs();
  }
  heartbeat_thread_ = std::thread([this] { HeartbeatLoop(); });
  return absl::OkStatus();
}

GroupConsumer::~GroupConsumer() {
  absl::Status st = Close();
  if (!st.ok()) LogEvent(LogLevel::kWarn, absl::StrCat("closing group consumer: ", st.message()));
}

RebalanceProtocol GroupConsumer::Protocol() const {
  for (const auto& name : config_.assignors) {
    if (MakeAssignor(name)->protocol() != RebalanceProtocol::kCooperative) {
      return RebalanceProtocol::kEager;
    }
  }
  return RebalanceProtocol::kCooperative;
}

absl::StatusOr<std::unique_ptr<Connection>> GroupConsumer::ConnectToCoordinator() {
  ConnectionOptions options;
  options.client_software_name = config_.client_id;
  options.connect_timeout_ms = config_.connect_timeout_ms;
  options.request_timeout_ms = config_.request_timeout_ms;
  options.required_apis = {protocol::ApiKey::kFindCoordinator, protocol::ApiKey::kJoinGroup,
                           protocol::ApiKey::kSyncGroup, protocol::ApiKey::kHeartbeat,
                           protocol::ApiKey::kOffsetCommit, protocol::ApiKey::kOffsetFetch};
  // Any broker of the cluster answers FindCoordinator; the coordinator may be another one, and
  // may move when a broker dies (then NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE or a lost
  // connection, after which the caller comes back here).
  STRATA_ASSIGN_OR_RETURN(auto bootstrap, Connection::ConnectAny(config_.bootstrap, options));
  STRATA_ASSIGN_OR_RETURN(CoordinatorReply found, FindCoordinatorCall(*bootstrap, config_.group_id));
  STRATA_RETURN_IF_ERROR(
      GroupStatus(found, absl::StrCat("finding the coordinator of group ", config_.group_id)));
  auto connected = ParseHostPort(bootstrap->address());
  if (connected.ok() && connected->host == found.host && connected->port == found.port) {
    return bootstrap;  // the broker that answered coordinates the group
  }
  return Connection::Connect(FormatAddress(found.host, found.port), options);
}

absl::StatusOr<Connection*> GroupConsumer::Coordinator() {
  if (coordinator_ == nullptr || !coordinator_->ok()) {
    coordinator_.reset();
    STRATA_ASSIGN_OR_RETURN(coordinator_, ConnectToCoordinator());
  }
  return coordinator_.get();
}

absl::Status GroupConsumer::Subscribe(std::vector<std::string> topics) {
  if (closed_) return absl::FailedPreconditionError("the consumer is closed");
  if (topics.empty()) return absl::InvalidArgumentError("subscribe to at least one topic");
  std::sort(topics.begin(), topics.end());
  topics.erase(std::unique(topics.begin(), topics.end()), topics.end());
  if (topics == topics_) return absl::OkStatus();
  topics_ = std::move(topics);
  absl::MutexLock lock(&mu_);
  rejoin_needed_ = true;
  return absl::OkStatus();
}

// --- Joining -------------------------------------------------------------------------------------

void GroupConsumer::RevokeForRejoin() {
  if (Protocol() == RebalanceProtocol::kCooperative || owned_.empty()) return;
  // Eager: give up everything before rejoining, committing first so the next owner resumes here.
  if (config_.enable_auto_commit) {
    absl::Status st = CommitOffsets(Positions());
    if (!st.ok()) LogEvent(LogLevel::kWarn, absl::StrCat("commit before rebalance: ", st.message()));
  }
  std::vector<TopicPartition> revoked(owned_.begin(), owned_.end());
  if (listener_ != nullptr) listener_->OnPartitionsRevoked(revoked);
  fetcher_->Unassign(revoked);
  owned_.clear();
}

void GroupConsumer::LosePartitions() {
  if (owned_.empty()) return;
  std::vector<TopicPartition> lost(owned_.begin(), owned_.end());
  LogEvent(LogLevel::kWarn, absl::StrCat("group ", config_.group_id, ": lost partitions ",
                                         Names(lost), " (removed from the group)"));
  if (listener_ != nullptr) listener_->OnPartitionsLost(lost);
  fetcher_->Unassign(lost);
  owned_.clear();
}

absl::Status GroupConsumer::Rebalance() {
  {
    absl::MutexLock lock(&mu_);
    heartbeating_ = false;
    rejoin_needed_ = false;
  }
  RevokeForRejoin();
  int64_t backoff_ms = config_.retry_backoff_ms;
  while (true) {
    bool retry = false;
    absl::Status st = JoinAndSync(&retry);
    if (st.ok() && !retry) return absl::OkStatus();
    if (!st.ok()) {
      if (!absl::IsUnavailable(st) && !absl::IsDeadlineExceeded(st)) return st;
      LogEvent(LogLevel::kDebug, absl::StrCat("group ", config_.group_id, ": ", st.message(),
                                              "; retrying"));
      coordinator_.reset();
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
      backoff_ms = std::min<int64_t>(backoff_ms * 2, 1000);
      if (closed_) return absl::CancelledError("closed");
    }
  }
}

absl::Status GroupConsumer::JoinAndSync(bool* retry) {
  *retry = false;
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Coordinator());
  MemberSubscription sub;
  sub.topics = topics_;
  sub.owned_partitions.assign(owned_.begin(), owned_.end());
  {
    absl::MutexLock lock(&mu_);
    sub.generation = generation_;
  }
  const std::string metadata = AsString(EncodeSubscription(sub));
  JoinParams params;
  params.group_id = config_.group_id;
  params.group_instance_id = config_.group_instance_id;
  params.client_id = config_.client_id;
  params.session_timeout_ms = config_.session_timeout_ms;
  params.rebalance_timeout_ms = config_.max_poll_interval_ms;
  for (const auto& name : config_.assignors) params.protocols.emplace_back(name, metadata);
  {
    absl::MutexLock lock(&mu_);
    params.member_id = member_id_;
  }
  const int64_t join_timeout = int64_t(config_.max_poll_interval_ms) + config_.request_timeout_ms;
  STRATA_ASSIGN_OR_RETURN(JoinReply join, JoinGroupCall(*conn, params, join_timeout));
  if (join.code == fb::ErrorCode::MEMBER_ID_REQUIRED) {
    absl::MutexLock lock(&mu_);
    member_id_ = join.member_id;
    *retry = true;
    return absl::OkStatus();
  }
  if (join.code == fb::ErrorCode::UNKNOWN_MEMBER_ID || join.code == fb::ErrorCode::ILLEGAL_GENERATION) {
    LosePartitions();
    absl::MutexLock lock(&mu_);
    member_id_.clear();
    generation_ = -1;
    *retry = true;
    return absl::OkStatus();
  }
  if (join.code == fb::ErrorCode::REBALANCE_IN_PROGRESS) {
    *retry = true;
    return absl::OkStatus();
  }
  if (CoordinatorMoved(join.code) || IsRetriable(join.code)) {
    return absl::UnavailableError(absl::StrCat("joining group ", config_.group_id, ": ",
                                               join.message, " (", ErrorCodeName(join.code), ")"));
  }
  if (join.code == fb::ErrorCode::FENCED_INSTANCE_ID) {
    absl::Status fatal = GroupStatus(join, absl::StrCat("joining group ", config_.group_id));
    absl::MutexLock lock(&mu_);
    fatal_ = fatal;
    return fatal;
  }
  STRATA_RETURN_IF_ERROR(GroupStatus(join, absl::StrCat("joining group ", config_.group_id)));

  {
    absl::MutexLock lock(&mu_);
    member_id_ = join.member_id;
  }
  is_leader_ = join.leader == join.member_id;
  std::vector<std::pair<std::string, std::string>> assignments;
  if (is_leader_) {
    // A static leader rejoining a stable group keeps the assignment (skip_assignment), but still
    // needs the partition counts it stands for, to notice later changes.
    STRATA_ASSIGN_OR_RETURN(auto computed, ComputeAssignment(join));
    if (!join.skip_assignment) assignments = std::move(computed);
  }
  STRATA_ASSIGN_OR_RETURN(
      SyncReply sync, SyncGroupCall(*conn, config_.group_id, join.member_id,
                                    config_.group_instance_id, join.generation, join.protocol_name,
                                    assignments, join_timeout));
  if (sync.code == fb::ErrorCode::REBALANCE_IN_PROGRESS) {
    *retry = true;
    return absl::OkStatus();
  }
  if (MemberGone(sync.code)) {
    LosePartitions();
    absl::MutexLock lock(&mu_);
    if (sync.code == fb::ErrorCode::UNKNOWN_MEMBER_ID) member_id_.clear();
    generation_ = -1;
    *retry = true;
    return absl::OkStatus();
  }
  if (CoordinatorMoved(sync.code)) {
    return absl::UnavailableError(absl::StrCat("syncing group ", config_.group_id, ": ",
                                               sync.message));
  }
  STRATA_RETURN_IF_ERROR(GroupStatus(sync, absl::StrCat("syncing group ", config_.group_id)));
  STRATA_ASSIGN_OR_RETURN(MemberAssignment assignment, DecodeAssignment(AsBytes(sync.assignment)));
  STRATA_RETURN_IF_ERROR(AdoptAssignment(std::move(assignment.partitions), join.generation));
  // Cooperative: partitions given up in this round go to their new owners in the next one.
  absl::MutexLock lock(&mu_);
  *retry = rejoin_needed_;
  if (*retry) rejoin_needed_ = false;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> GroupConsumer::ComputeAssignment(
    const JoinReply& join) {
  auto assignor = MakeAssignor(join.protocol_name);
  if (assignor == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("the group chose assignor '", join.protocol_name,
                                                   "', which this client does not have"));
  }
  std::vector<MemberSubscription> members;
  std::set<std::string> topics;
  for (const auto& m : join.members) {
    auto sub = DecodeSubscription(AsBytes(m.metadata));
    MemberSubscription s;
    if (sub.ok()) {
      s = std::move(*sub);
    } else {
      LogEvent(LogLevel::kWarn, absl::StrCat("group ", config_.group_id, ": member ", m.member_id,
                                             " sent a subscription that does not decode (",
                                             sub.status().message(), "); it gets nothing"));
    }
    s.member_id = m.member_id;
    s.group_instance_id = m.group_instance_id;
    topics.insert(s.topics.begin(), s.topics.end());
    members.push_back(std::move(s));
  }
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Coordinator());
  std::map<std::string, int32_t> counts;
  for (const auto& topic : topics) {
    auto info = FetchTopicMetadata(*conn, topic);
    if (info.ok()) {
      counts[topic] = static_cast<int32_t>(info->partitions.size());
    } else if (!absl::IsNotFound(info.status())) {
      return info.status();
    }
  }
  assigned_partition_counts_ = counts;
  next_metadata_check_ms_ = NowMs() + config_.metadata_max_age_ms;
  GroupAssignment result = assignor->Assign(counts, members);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& m : members) {
    MemberAssignment a;
    auto it = result.find(m.member_id);
    if (it != result.end()) a.partitions = it->second;
    out.emplace_back(m.member_id, AsString(EncodeAssignment(a)));
  }
  return out;
}

absl::Status GroupConsumer::AdoptAssignment(std::vector<TopicPartition> assigned,
                                            int32_t generation) {
  const std::set<TopicPartition> next(assigned.begin(), assigned.end());
  std::vector<TopicPartition> revoked, added;
  for (const auto& tp : owned_) {
    if (!next.contains(tp)) revoked.push_back(tp);
  }
  for (const auto& tp : next) {
    if (!owned_.contains(tp)) added.push_back(tp);
  }
  {
    absl::MutexLock lock(&mu_);
    generation_ = generation;
  }
  if (!revoked.empty()) {
    // Cooperative: these move to another member; commit them first so it resumes where we were.
    std::map<TopicPartition, int64_t> positions;
    for (const auto& tp : revoked) {
      auto p = fetcher_->Position(tp.topic, tp.partition);
      if (p.ok()) positions[tp] = *p;
    }
    if (config_.enable_auto_commit) {
      absl::Status st = CommitOffsets(positions);
      if (!st.ok()) LogEvent(LogLevel::kWarn, absl::StrCat("commit before revoke: ", st.message()));
    }
    if (listener_ != nullptr) listener_->OnPartitionsRevoked(revoked);
    fetcher_->Unassign(revoked);
    for (const auto& tp : revoked) owned_.erase(tp);
    absl::MutexLock lock(&mu_);
    rejoin_needed_ = true;
  }
  if (!added.empty()) {
    STRATA_ASSIGN_OR_RETURN(Connection * conn, Coordinator());
    std::string member;
    {
      absl::MutexLock lock(&mu_);
      member = member_id_;
    }
    STRATA_ASSIGN_OR_RETURN(OffsetFetchReply committed,
                            OffsetFetchCall(*conn, config_.group_id, member, generation, added));
    STRATA_RETURN_IF_ERROR(GroupStatus(committed, "reading the group's committed offsets"));
    std::map<std::string, std::vector<int32_t>> by_topic;
    for (const auto& tp : added) by_topic[tp.topic].push_back(tp.partition);
    for (const auto& [topic, partitions] : by_topic) {
      STRATA_RETURN_IF_ERROR(fetcher_->Assign(topic, partitions));
    }
    for (const auto& tp : added) {
      auto it = committed.offsets.find(tp);
      if (it != committed.offsets.end() && it->second.offset >= 0) {
        STRATA_RETURN_IF_ERROR(
            fetcher_->Seek(tp.topic, tp.partition, SeekTarget::Offset(it->second.offset)));
      }
      owned_.insert(tp);
    }
  }
  state_ = State::kStable;
  {
    absl::MutexLock lock(&mu_);
    heartbeating_ = true;
    lost_ = false;
  }
  LogEvent(LogLevel::kDebug, absl::StrCat("group ", config_.group_id, " generation ", generation,
                                         ": assigned ", Names({owned_.begin(), owned_.end()})));
  if (listener_ != nullptr && !added.empty()) listener_->OnPartitionsAssigned(added);
  return absl::OkStatus();
}

bool GroupConsumer::MetadataChanged() {
  if (!is_leader_ || NowMs() < next_metadata_check_ms_) return false;
  next_metadata_check_ms_ = NowMs() + config_.metadata_max_age_ms;
  auto conn = Coordinator();
  if (!conn.ok()) return false;
  std::map<std::string, int32_t> counts;
  for (const auto& topic : topics_) {
    auto info = FetchTopicMetadata(**conn, topic);
    if (info.ok()) counts[topic] = static_cast<int32_t>(info->partitions.size());
  }
  return counts != assigned_partition_counts_;
}

// --- Polling -------------------------------------------------------------------------------------

absl::StatusOr<std::vector<ConsumerRecord>> GroupConsumer::Poll(int64_t timeout_ms) {
  if (closed_) return absl::FailedPreconditionError("the consumer is closed");
  if (topics_.empty()) {
    return absl::FailedPreconditionError("nothing to consume: call Subscribe first");
  }
  const int64_t deadline = NowMs() + std::max<int64_t>(0, timeout_ms);
  RunCommitCallbacks();
  while (true) {
    bool rejoin, lost;
    {
      absl::MutexLock lock(&mu_);
      last_poll_ms_ = NowMs();
      if (!fatal_.ok()) return fatal_;
      rejoin = rejoin_needed_ || state_ == State::kUnjoined;
      lost = lost_;
      lost_ = false;
    }
    if (lost) LosePartitions();
    if (!rejoin && MetadataChanged()) rejoin = true;
    if (rejoin) STRATA_RETURN_IF_ERROR(Rebalance());
    MaybeAutoCommit();
    const int64_t left = deadline - NowMs();
    // Fetch in short waits, so that a rebalance the heartbeat thread learns of is joined soon.
    const int64_t wait = std::clamp<int64_t>(left, 0, 100);
    if (owned_.empty()) {
      if (left <= 0) return std::vector<ConsumerRecord>{};
      std::this_thread::sleep_for(std::chrono::milliseconds(wait));
      continue;
    }
    auto records = fetcher_->Poll(wait);
    if (!records.ok() && !absl::IsUnavailable(records.status())) return records.status();
    if (!records.ok()) {  // the connection was lost; the next fetch reconnects
      std::this_thread::sleep_for(std::chrono::milliseconds(config_.retry_backoff_ms));
    }
    if (records.ok() && !records->empty()) return records;
    if (NowMs() >= deadline) return std::vector<ConsumerRecord>{};
  }
}

std::map<TopicPartition, int64_t> GroupConsumer::Positions() {
  std::map<TopicPartition, int64_t> out;
  for (const auto& tp : owned_) {
    auto p = fetcher_->Position(tp.topic, tp.partition);
    if (p.ok()) out[tp] = *p;
  }
  return out;
}

void GroupConsumer::MaybeAutoCommit() {
  if (!config_.enable_auto_commit || state_ != State::kStable) return;
  const int64_t now = NowMs();
  if (next_auto_commit_ms_ == 0) next_auto_commit_ms_ = now + config_.auto_commit_interval_ms;
  if (now < next_auto_commit_ms_) return;
  next_auto_commit_ms_ = now + config_.auto_commit_interval_ms;
  CommitAsync([group = config_.group_id](absl::Status st) {
    if (!st.ok()) LogEvent(LogLevel::kWarn, absl::StrCat("auto-commit of group ", group, ": ",
                                                         st.message()));
  });
}

// --- Commits -------------------------------------------------------------------------------------

absl::Status GroupConsumer::CommitSync() {
  if (closed_) return absl::FailedPreconditionError("the consumer is closed");
  RunCommitCallbacks();
  return CommitOffsets(Positions());
}

absl::Status GroupConsumer::CommitSync(const std::map<TopicPartition, int64_t>& offsets) {
  if (closed_) return absl::FailedPreconditionError("the consumer is closed");
  RunCommitCallbacks();
  return CommitOffsets(offsets);
}

absl::Status GroupConsumer::CommitOffsets(const std::map<TopicPartition, int64_t>& offsets) {
  if (offsets.empty()) return absl::OkStatus();
  std::string member;
  int32_t generation;
  {
    absl::MutexLock lock(&mu_);
    member = member_id_;
    generation = generation_;
  }
  std::map<TopicPartition, OffsetToCommit> request;
  for (const auto& [tp, offset] : offsets) request[tp] = OffsetToCommit{offset, ""};
  const std::string context = absl::StrCat("committing offsets of group ", config_.group_id);
  // The coordinator may move (a broker died or is stopping): find it again and resend the same
  // offsets until the request timeout, so a commit is not dropped on the way. Resending is safe:
  // a commit stores the same offsets again.
  const int64_t deadline = NowMs() + config_.request_timeout_ms;
  int64_t backoff_ms = config_.retry_backoff_ms;
  CommitReply reply;
  for (;;) {
    absl::StatusOr<Connection*> conn = Coordinator();
    absl::StatusOr<CommitReply> got =
        conn.ok() ? OffsetCommitCall(**conn, config_.group_id, member, config_.group_instance_id,
                                     generation, request)
                  : absl::StatusOr<CommitReply>(conn.status());
    absl::Status moved;
    if (!got.ok()) {
      if (!absl::IsUnavailable(got.status()) && !absl::IsDeadlineExceeded(got.status())) {
        return got.status();
      }
      moved = got.status();
    } else if (CoordinatorMoved(got->code)) {
      moved = GroupStatus(*got, context);
    } else {
      reply = *std::move(got);
      break;
    }
    coordinator_.reset();
    if (NowMs() + backoff_ms >= deadline) {
      return absl::UnavailableError(absl::StrCat(
          context, ": the group's coordinator could not be reached within ",
          config_.request_timeout_ms, " ms (", moved.message(),
          "); the offsets were not committed, so records after the last commit may be delivered "
          "again. Check the brokers with `strata cluster status`."));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 1000);
  }
  if (MemberGone(reply.code) || reply.code == fb::ErrorCode::REBALANCE_IN_PROGRESS) {
    absl::MutexLock lock(&mu_);
    rejoin_needed_ = true;
  }
  STRATA_RETURN_IF_ERROR(GroupStatus(reply, context));
  for (const auto& [tp, r] : reply.partitions) {
    STRATA_RETURN_IF_ERROR(GroupStatus(r, absl::StrCat(context, " for ", tp.topic, "-",
                                                       tp.partition)));
  }
  return absl::OkStatus();
}

void GroupConsumer::CommitAsync(CommitCallback done) {
  if (closed_) {
    if (done) done(absl::FailedPreconditionError("the consumer is closed"));
    return;
  }
  auto offsets = Positions();
  absl::MutexLock lock(&mu_);
  async_commits_.push_back({std::move(offsets), std::move(done)});
}

void GroupConsumer::RunCommitCallbacks() {
  std::vector<std::pair<CommitCallback, absl::Status>> done;
  {
    absl::MutexLock lock(&mu_);
    done.swap(completed_commits_);
  }
  for (auto& [cb, st] : done) {
    if (cb) cb(st);
  }
}

absl::StatusOr<std::optional<int64_t>> GroupConsumer::Committed(const TopicPartition& tp) {
  STRATA_ASSIGN_OR_RETURN(Connection * conn, Coordinator());
  STRATA_ASSIGN_OR_RETURN(OffsetFetchReply reply,
                          OffsetFetchCall(*conn, config_.group_id, "", -1,
                                          std::vector<TopicPartition>{tp}));
  STRATA_RETURN_IF_ERROR(GroupStatus(reply, "reading the committed offset"));
  auto it = reply.offsets.find(tp);
  if (it == reply.offsets.end() || it->second.offset < 0) return std::optional<int64_t>();
  return std::optional<int64_t>(it->second.offset);
}

absl::StatusOr<int64_t> GroupConsumer::Position(const TopicPartition& tp) {
  return fetcher_->Position(tp.topic, tp.partition);
}

std::vector<TopicPartition> GroupConsumer::Assignment() const {
  return {owned_.begin(), owned_.end()};
}

std::string GroupConsumer::member_id() const {
  absl::MutexLock lock(&mu_);
  return member_id_;
}

int32_t GroupConsumer::generation() const {
  absl::MutexLock lock(&mu_);
  return generation_;
}

uint64_t GroupConsumer::heartbeats_accepted() const {
  absl::MutexLock lock(&mu_);
  return heartbeats_accepted_;
}

// --- Heartbeats ----------------------------------------------------------------------------------

void GroupConsumer::HeartbeatLoop() {
  std::unique_ptr<Connection> conn;
  int64_t next_heartbeat = 0;
  while (true) {
    AsyncCommit commit;
    bool have_commit = false;
    bool beat = false;
    bool poll_timeout = false;
    std::string member;
    int32_t generation = -1;
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || !async_commits_.empty();
      };
      const int64_t wait = std::max<int64_t>(0, next_heartbeat - NowMs());
      mu_.AwaitWithTimeout(absl::Condition(&wake), absl::Milliseconds(wait));
      if (stop_) break;
      if (!async_commits_.empty()) {
        commit = std::move(async_commits_.front());
        async_commits_.pop_front();
        have_commit = true;
      }
      member = member_id_;
      generation = generation_;
      const int64_t now = NowMs();
      if (heartbeating_ && now - last_poll_ms_ > config_.max_poll_interval_ms) {
        poll_timeout = true;
        heartbeating_ = false;
        rejoin_needed_ = true;
        lost_ = true;
      } else if (heartbeating_ && now >= next_heartbeat) {
        beat = true;
      }
      if (now >= next_heartbeat) next_heartbeat = now + config_.heartbeat_interval_ms;
    }
    if (conn != nullptr && !conn->ok()) conn.reset();
    if (conn == nullptr && (beat || have_commit || poll_timeout)) {
      auto c = ConnectToCoordinator();
      if (c.ok()) conn = std::move(*c);
    }
    if (have_commit) {
      absl::Status st = absl::UnavailableError("cannot reach the group's coordinator");
      if (conn != nullptr) {
        std::map<TopicPartition, OffsetToCommit> request;
        for (const auto& [tp, offset] : commit.offsets) request[tp] = OffsetToCommit{offset, ""};
        auto reply = commit.offsets.empty()
                         ? absl::StatusOr<CommitReply>(CommitReply{})
                         : OffsetCommitCall(*conn, config_.group_id, member,
                                            config_.group_instance_id, generation, request);
        if (!reply.ok() || CoordinatorMoved(reply->code)) {
          // The next heartbeat or commit finds the coordinator again; a later commit carries
          // these offsets or newer ones, so at-least-once holds.
          conn.reset();
        }
        if (!reply.ok()) {
          st = reply.status();
        } else {
          st = GroupStatus(*reply, absl::StrCat("committing offsets of group ", config_.group_id));
          for (const auto& [tp, r] : reply->partitions) {
            if (st.ok()) st = GroupStatus(r, absl::StrCat("committing ", tp.topic, "-", tp.partition));
          }
        }
      }
      absl::MutexLock lock(&mu_);
      completed_commits_.emplace_back(std::move(commit.done), st);
    }
    if (poll_timeout) {
      LogEvent(LogLevel::kWarn,
               absl::StrCat("group ", config_.group_id, ": Poll was not called for ",
                            config_.max_poll_interval_ms,
                            " ms (max_poll_interval_ms); leaving the group so its partitions go "
                            "to live members. The next Poll rejoins."));
      if (!config_.group_instance_id.has_value() && conn != nullptr) {
        (void)LeaveGroupCall(*conn, config_.group_id, member, std::nullopt,
                             "max_poll_interval_ms passed without a Poll");
      }
      absl::MutexLock lock(&mu_);
      if (!config_.group_instance_id.has_value()) member_id_.clear();
      generation_ = -1;
      continue;
    }
    if (!beat || conn == nullptr) continue;
    auto reply = HeartbeatCall(*conn, config_.group_id, member, config_.group_instance_id,
                               generation);
    if (!reply.ok()) {
      conn.reset();
      continue;
    }
    absl::MutexLock lock(&mu_);
    if (member != member_id_ || generation != generation_) continue;  // rejoined meanwhile
    switch (reply->code) {
      case fb::ErrorCode::NONE:
        ++heartbeats_accepted_;
        break;
      case fb::ErrorCode::REBALANCE_IN_PROGRESS:
        rejoin_needed_ = true;
        break;
      case fb::ErrorCode::UNKNOWN_MEMBER_ID:
      case fb::ErrorCode::ILLEGAL_GENERATION:
        rejoin_needed_ = true;
        lost_ = true;
        heartbeating_ = false;
        if (reply->code == fb::ErrorCode::UNKNOWN_MEMBER_ID) member_id_.clear();
        generation_ = -1;
        break;
      case fb::ErrorCode::FENCED_INSTANCE_ID:
        fatal_ = GroupStatus(*reply, absl::StrCat("heartbeat of group ", config_.group_id));
        heartbeating_ = false;
        break;
      default:
        if (CoordinatorMoved(reply->code)) conn.reset();
        break;
    }
  }
}

// --- Closing -------------------------------------------------------------------------------------

absl::Status GroupConsumer::Close() {
  if (closed_) return absl::OkStatus();
  absl::Status result;
  bool joined;
  {
    absl::MutexLock lock(&mu_);
    joined = heartbeating_ && fatal_.ok();
  }
  if (joined && state_ == State::kStable) {
    if (config_.enable_auto_commit) result = CommitOffsets(Positions());
    std::vector<TopicPartition> revoked(owned_.begin(), owned_.end());
    if (listener_ != nullptr && !revoked.empty()) listener_->OnPartitionsRevoked(revoked);
    if (!config_.group_instance_id.has_value()) {
      std::string member;
      {
        absl::MutexLock lock(&mu_);
        member = member_id_;
      }
      auto conn = Coordinator();
      if (conn.ok()) (void)LeaveGroupCall(**conn, config_.group_id, member, std::nullopt,
                                         "the consumer closed");
    }
  }
  closed_ = true;
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  RunCommitCallbacks();
  {
    absl::MutexLock lock(&mu_);
    for (auto& c : async_commits_) {
      if (c.done) completed_commits_.emplace_back(std::move(c.done),
                                                  absl::CancelledError("the consumer closed"));
    }
    async_commits_.clear();
  }
  RunCommitCallbacks();
  owned_.clear();
  return result;
}

}  // namespace strata::client
