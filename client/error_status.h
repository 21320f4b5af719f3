// Turning a broker's error_code / error_message into an absl::Status a caller can act on.
//
// Every response table of the native protocol starts with error_code and error_message, and so do
// per-topic and per-partition results (docs/protocol.md, "Error codes"). The mapping follows what
// the caller should do next (common/status.h):
//   NONE                                      OK
//   UNKNOWN                                   Unknown        report it
//   UNSUPPORTED_VERSION, UNSUPPORTED_API      Unimplemented  the broker is older or newer
//   INVALID_REQUEST, INVALID_TOPIC, INVALID_CONFIG, CORRUPT_MESSAGE, MESSAGE_TOO_LARGE
//                                             InvalidArgument  fix the request; never retried
//   UNKNOWN_TOPIC_OR_PARTITION                NotFound       create the topic / refresh metadata
//   TOPIC_ALREADY_EXISTS                      AlreadyExists
//   OFFSET_OUT_OF_RANGE                       OutOfRange     seek and fetch again
//   OUT_OF_ORDER_SEQUENCE                     OutOfRange     fatal for that producer id
//   PRODUCER_FENCED                           FailedPrecondition  fatal for that producer id
//   STORAGE_ERROR, REQUEST_TIMED_OUT, BROKER_BUSY, SHUTTING_DOWN, COORDINATOR_NOT_AVAILABLE,
//   NOT_COORDINATOR                           Unavailable    retriable (IsRetriable)
//   ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS, MEMBER_ID_REQUIRED
//                                             Aborted        the group changed: rejoin, retry
//   FENCED_INSTANCE_ID, NON_EMPTY_GROUP       FailedPrecondition
//   INCONSISTENT_GROUP_PROTOCOL, INVALID_SESSION_TIMEOUT, INVALID_GROUP_ID,
//   OFFSET_METADATA_TOO_LARGE                 InvalidArgument
//   GROUP_ID_NOT_FOUND                        NotFound
//   GROUP_MAX_SIZE_REACHED                    ResourceExhausted
//   NOT_LEADER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, LEADER_NOT_AVAILABLE,
//   NOT_ENOUGH_REPLICAS                       Unavailable    retriable; the first four after a
//                                                            metadata refresh (IsLeaderError)
// A code this build does not know is Unknown. Plain functions, safe from any thread.
#pragma once

#include <string_view>

#include "common/status.h"
#include "protocol/errors_generated.h"
#include "protocol/message.h"

namespace strata::client {

// The status for `code`. The message reads "<context>: <broker message> (<CODE>)", followed by
// what to do where there is something to say. OK for NONE.
absl::Status ErrorToStatus(protocol::fb::ErrorCode code, std::string_view broker_message,
                           std::string_view context);

// Same, taking the raw fields of a FlatBuffers response (message may be null).
absl::Status ErrorToStatus(protocol::fb::ErrorCode code, const flatbuffers::String* broker_message,
                           std::string_view context);

// True for the codes a client retries after a backoff: STORAGE_ERROR, STORAGE_FULL,
// REQUEST_TIMED_OUT, BROKER_BUSY, SHUTTING_DOWN, COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR,
// NOT_ENOUGH_REPLICAS, and the leader errors of IsLeaderError.
bool IsRetriable(protocol::fb::ErrorCode code);

// True for the codes that say the client's idea of a partition's leader is wrong or stale:
// NOT_LEADER, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, LEADER_NOT_AVAILABLE. The client
// refreshes its metadata (not more often than its backoff) and retries at the leader it then
// knows, without losing its place (the producer resends the same bytes, the consumer fetches
// the same offset).
bool IsLeaderError(protocol::fb::ErrorCode code);

// "UNKNOWN_TOPIC_OR_PARTITION", or "error <n>" for a code this build does not know.
std::string ErrorCodeName(protocol::fb::ErrorCode code);

// Verifies a response body as `Table` and turns its top-level error_code into a status. An
// ErrorResponse (unsupported version, bad request) reads as `Table` with only the error set, so
// this handles it too. `what` names the table ("MetadataResponse"); `context` prefixes errors.
template <typename Table>
absl::StatusOr<const Table*> CheckResponse(std::span<const std::byte> body, const char* what,
                                           std::string_view context) {
  STRATA_ASSIGN_OR_RETURN(const Table* table, protocol::VerifyBody<Table>(body, what));
  STRATA_RETURN_IF_ERROR(ErrorToStatus(table->error_code(), table->error_message(), context));
  return table;
}

}  // namespace strata::client
