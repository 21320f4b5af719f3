#include "client/error_status.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace strata::client {

using protocol::fb::ErrorCode;

std::string ErrorCodeName(ErrorCode code) {
  if (code >= ErrorCode::MIN && code <= ErrorCode::MAX) {
    return protocol::fb::EnumNameErrorCode(code);
  }
  return absl::StrCat("error ", static_cast<int>(code));
}

bool IsRetriable(ErrorCode code) {
  switch (code) {
    case ErrorCode::STORAGE_ERROR:
    case ErrorCode::STORAGE_FULL:
    case ErrorCode::REQUEST_TIMED_OUT:
    case ErrorCode::BROKER_BUSY:
    case ErrorCode::SHUTTING_DOWN:
    case ErrorCode::COORDINATOR_NOT_AVAILABLE:
    case ErrorCode::NOT_COORDINATOR:
    case ErrorCode::NOT_ENOUGH_REPLICAS:
      return true;
    default:
      return IsLeaderError(code);
  }
}

bool IsLeaderError(ErrorCode code) {
  switch (code) {
    case ErrorCode::NOT_LEADER:
    case ErrorCode::FENCED_LEADER_EPOCH:
    case ErrorCode::UNKNOWN_LEADER_EPOCH:
    case ErrorCode::LEADER_NOT_AVAILABLE:
      return true;
    default:
      return false;
  }
}

absl::Status ErrorToStatus(ErrorCode code, std::string_view broker_message,
                           std::string_view context) {
  if (code == ErrorCode::NONE) return absl::OkStatus();
  std::string text(context);
  if (!text.empty()) text += ": ";
  text += broker_message.empty() ? "the broker reported an error" : std::string(broker_message);
  absl::StrAppend(&text, " (", ErrorCodeName(code), ")");
  switch (code) {
    case ErrorCode::UNSUPPORTED_VERSION:
    case ErrorCode::UNSUPPORTED_API:
      return absl::UnimplementedError(
          absl::StrCat(text, ". The broker does not serve this request: use a client and broker "
                             "of matching versions."));
    case ErrorCode::INVALID_REQUEST:
    case ErrorCode::INVALID_TOPIC:
    case ErrorCode::INVALID_CONFIG:
    case ErrorCode::CORRUPT_MESSAGE:
    case ErrorCode::MESSAGE_TOO_LARGE:
      return absl::InvalidArgumentError(text);
    case ErrorCode::UNKNOWN_TOPIC_OR_PARTITION:
      return absl::NotFoundError(text);
    case ErrorCode::TOPIC_ALREADY_EXISTS:
      return absl::AlreadyExistsError(text);
    case ErrorCode::OFFSET_OUT_OF_RANGE:
      return absl::OutOfRangeError(text);
    case ErrorCode::OUT_OF_ORDER_SEQUENCE:
      return absl::OutOfRangeError(
          absl::StrCat(text, ". The producer's sequence numbers are out of step with the broker; "
                             "the producer takes a new producer id."));
    case ErrorCode::PRODUCER_FENCED:
      return absl::FailedPreconditionError(
          absl::StrCat(text, ". Another producer with a newer epoch took over this producer id."));
    case ErrorCode::STORAGE_ERROR:
      return absl::UnavailableError(
          absl::StrCat(text, ". The partition is offline; look at the broker's log."));
    case ErrorCode::STORAGE_FULL:
      return absl::UnavailableError(absl::StrCat(
          text, ". Nothing was written; the broker's disk must get free space (lower retention, "
                "delete topics, or add disk)."));
    case ErrorCode::REQUEST_TIMED_OUT:
    case ErrorCode::BROKER_BUSY:
    case ErrorCode::SHUTTING_DOWN:
    case ErrorCode::COORDINATOR_NOT_AVAILABLE:
    case ErrorCode::NOT_COORDINATOR:
      return absl::UnavailableError(text);
    // The leader errors are Unavailable, not FailedPrecondition, even the stale-epoch one: what
    // the caller does is retry (after a metadata refresh), which is what Unavailable means to
    // every retry loop of this library and of its callers.
    case ErrorCode::NOT_LEADER:
    case ErrorCode::FENCED_LEADER_EPOCH:
      return absl::UnavailableError(absl::StrCat(
          text, ". The partition's leader moved; the client refreshes its metadata and retries at "
                "the new leader."));
    case ErrorCode::UNKNOWN_LEADER_EPOCH:
      return absl::UnavailableError(absl::StrCat(
          text, ". The broker has not caught up with the cluster's latest leader change; retry "
                "shortly."));
    case ErrorCode::LEADER_NOT_AVAILABLE:
      return absl::UnavailableError(absl::StrCat(
          text, ". The partition has no leader now (an election is under way, or every in-sync "
                "replica is down); see `strata cluster status`."));
    case ErrorCode::NOT_ENOUGH_REPLICAS:
      return absl::UnavailableError(absl::StrCat(
          text, ". acks=all was refused because too few replicas are in sync (below "
                "min_insync_replicas); nothing was written. Retry once the replicas catch up "
                "(see `strata cluster status`), or produce with acks=1."));
    case ErrorCode::ILLEGAL_GENERATION:
    case ErrorCode::UNKNOWN_MEMBER_ID:
    case ErrorCode::REBALANCE_IN_PROGRESS:
    case ErrorCode::MEMBER_ID_REQUIRED:
      return absl::AbortedError(
          absl::StrCat(text, ". The group's membership changed; the member rejoins and retries."));
    case ErrorCode::FENCED_INSTANCE_ID:
      return absl::FailedPreconditionError(absl::StrCat(
          text, ". Another consumer runs with the same group_instance_id; give each instance "
                "its own."));
    case ErrorCode::NON_EMPTY_GROUP:
      return absl::FailedPreconditionError(text);
    case ErrorCode::INCONSISTENT_GROUP_PROTOCOL:
    case ErrorCode::INVALID_SESSION_TIMEOUT:
    case ErrorCode::INVALID_GROUP_ID:
    case ErrorCode::OFFSET_METADATA_TOO_LARGE:
      return absl::InvalidArgumentError(text);
    case ErrorCode::GROUP_ID_NOT_FOUND:
      return absl::NotFoundError(text);
    case ErrorCode::GROUP_MAX_SIZE_REACHED:
      return absl::ResourceExhaustedError(text);
    case ErrorCode::UNKNOWN:
    default:
      return absl::UnknownError(text);
  }
}

absl::Status ErrorToStatus(ErrorCode code, const flatbuffers::String* broker_message,
                           std::string_view context) {
  return ErrorToStatus(
      code, broker_message == nullptr ? std::string_view() : broker_message->string_view(),
      context);
}

}  // namespace strata::client
