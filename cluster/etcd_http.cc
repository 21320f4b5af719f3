#include "cluster/etcd_http.h"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cluster/json_stream.h"
#include "common/limits.h"

namespace strata::cluster {
namespace {

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr char kRangePath[] = "/v3/kv/range";
constexpr char kPutPath[] = "/v3/kv/put";
constexpr char kDeletePath[] = "/v3/kv/deleterange";
constexpr char kTxnPath[] = "/v3/kv/txn";
constexpr char kCompactPath[] = "/v3/kv/compaction";
constexpr char kGrantPath[] = "/v3/lease/grant";
constexpr char kKeepAlivePath[] = "/v3/lease/keepalive";
constexpr char kRevokePath[] = "/v3/lease/revoke";
constexpr char kWatchPath[] = "/v3/watch";

// curl_global_init is not thread-safe in every libcurl build, so it runs once, under the
// function-local static's guard, before the first client makes a handle. Never undone: a
// watch thread may outlive every client.
CURLcode InitCurl() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  return rc;
}

// The headers of every request, built once and only read after. "Expect:" keeps curl from
// asking for "100 Continue" before a larger body, a round trip for nothing.
curl_slist* JsonHeaders() {
  static curl_slist* const headers =
      curl_slist_append(curl_slist_append(nullptr, "Content-Type: application/json"), "Expect:");
  return headers;
}

// --- Decoding ---------------------------------------------------------------------------------
// The decoders throw on an answer that is JSON but not shaped as etcd's; Decode and the watch
// catch this and nlohmann's own exceptions, so none leaves this file.
class MalformedAnswer : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The gateway leaves out every field that has its default value (false, 0, "", []), so an
// absent field reads as null, and the helpers below read null as the default.
const Json& Field(const Json& object, const char* name) {
  static const Json absent;
  if (object.is_null()) return absent;
  if (!object.is_object()) throw MalformedAnswer(absl::StrCat("no object around \"", name, "\""));
  const auto it = object.find(name);
  return it == object.end() ? absent : *it;
}

// int64 fields come as decimal strings (protobuf's JSON mapping); numbers are accepted too.
int64_t Int(const Json& object, const char* name) {
  const Json& v = Field(object, name);
  if (v.is_null()) return 0;
  if (v.is_number_integer()) return v.get<int64_t>();
  int64_t n = 0;
  if (v.is_string() && absl::SimpleAtoi(v.get_ref<const std::string&>(), &n)) return n;
  throw MalformedAnswer(absl::StrCat("\"", name, "\" is not an int64"));
}

bool Bool(const Json& object, const char* name) {
  const Json& v = Field(object, name);
  if (v.is_null()) return false;
  if (v.is_boolean()) return v.get<bool>();
  throw MalformedAnswer(absl::StrCat("\"", name, "\" is not a boolean"));
}

std::string String(const Json& object, const char* name) {
  const Json& v = Field(object, name);
  if (v.is_null()) return {};
  if (v.is_string()) return v.get<std::string>();
  throw MalformedAnswer(absl::StrCat("\"", name, "\" is not a string"));
}

// Keys and values are bytes, which protobuf's JSON carries as base64.
std::string Bytes(const Json& object, const char* name) {
  const Json& v = Field(object, name);
  if (v.is_null()) return {};
  std::string bytes;
  if (!v.is_string() || !absl::Base64Unescape(v.get_ref<const std::string&>(), &bytes)) {
    throw MalformedAnswer(absl::StrCat("\"", name, "\" is not base64"));
  }
  return bytes;
}

// Iterating the null that an absent array reads as yields nothing.
const Json& Array(const Json& object, const char* name) {
  const Json& v = Field(object, name);
  if (!v.is_null() && !v.is_array()) {
    throw MalformedAnswer(absl::StrCat("\"", name, "\" is not an array"));
  }
  return v;
}

int64_t HeaderRevision(const Json& answer) { return Int(Field(answer, "header"), "revision"); }

KeyValue DecodeKeyValue(const Json& kv) {
  KeyValue out;
  out.key = Bytes(kv, "key");
  out.value = Bytes(kv, "value");
  out.create_revision = Int(kv, "create_revision");
  out.mod_revision = Int(kv, "mod_revision");
  out.version = Int(kv, "version");
  out.lease = Int(kv, "lease");
  return out;
}

RangeResult DecodeRange(const Json& answer) {
  RangeResult out;
  out.revision = HeaderRevision(answer);
  for (const Json& kv : Array(answer, "kvs")) out.kvs.push_back(DecodeKeyValue(kv));
  return out;
}

absl::Status MalformedError(absl::string_view where, absl::string_view what) {
  return absl::UnavailableError(absl::StrCat("malformed answer from ", where, ": ", what));
}

// Runs `decode` (which returns an absl::StatusOr) on the JSON `body` from `where`, turning a
// parse error or an unexpected shape into Unavailable.
template <typename F>
auto Decode(absl::string_view where, const std::string& body, F decode)
    -> decltype(decode(Json())) {
  try {
    return decode(Json::parse(body));
  } catch (const Json::exception& e) {
    return MalformedError(where, e.what());
  } catch (const MalformedAnswer& e) {
    return MalformedError(where, e.what());
  }
}

// etcd's gRPC code, which its error answers carry, as what the caller should do (absl's codes
// have gRPC's numbers). A retry cannot fix the ones kept; everything else (no leader, too many
// requests, a timeout inside etcd, ...) is worth retrying, so Unavailable.
absl::StatusCode CodeOf(int64_t grpc_code) {
  switch (static_cast<absl::StatusCode>(grpc_code)) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kOutOfRange:
      return static_cast<absl::StatusCode>(grpc_code);
    default:
      return absl::StatusCode::kUnavailable;
  }
}

// An error answer: {"error":"<message>","code":5,"message":"<message>"} for a unary call, or
// {"error":{"grpc_code":5,"http_code":404,"message":"<message>",...}} inside a stream.
absl::Status ErrorAnswer(const Json& answer, absl::string_view where) {
  const Json& error = Field(answer, "error");
  const Json& detail = error.is_object() ? error : answer;
  const int64_t code = Int(detail, error.is_object() ? "grpc_code" : "code");
  std::string message = String(detail, "message");
  if (message.empty() && error.is_string()) message = error.get<std::string>();
  return absl::Status(CodeOf(code), absl::StrCat(where, ": ", message));
}

// The status for a non-200 answer to a unary call.
absl::Status HttpError(long http_code, const std::string& answer, absl::string_view where) {
  try {
    return ErrorAnswer(Json::parse(answer), where);
  } catch (const Json::exception&) {
  } catch (const MalformedAnswer&) {
  }
  // Not etcd's JSON (a proxy's page, say): show the start of it.
  return absl::UnavailableError(
      absl::StrCat(where, ": HTTP ", http_code, ": ", answer.substr(0, 200)));
}

// --- Encoding ---------------------------------------------------------------------------------

std::string Base64(std::string_view bytes) {
  return absl::Base64Escape(absl::string_view(bytes.data(), bytes.size()));
}

// Sets "key" and "range_end". etcd refuses an empty key, but "every key" is the empty prefix,
// ["", "\0"); "\0" is the smallest key etcd can hold, so ["\0", "\0") is the same range (etcd's
// own client does this).
void SetRange(Json& request, const KeyRange& range) {
  const bool everything = range.key.empty() && !range.range_end.empty();
  request["key"] = Base64(everything ? std::string_view("\0", 1) : std::string_view(range.key));
  if (!range.range_end.empty()) request["range_end"] = Base64(range.range_end);
}

Json EncodeCompare(const Compare& compare) {
  Json out = Json::object();
  out["key"] = Base64(compare.key);
  switch (compare.result) {
    case Compare::Result::kEqual:
      out["result"] = "EQUAL";
      break;
    case Compare::Result::kNotEqual:
      out["result"] = "NOT_EQUAL";
      break;
    case Compare::Result::kGreater:
      out["result"] = "GREATER";
      break;
    case Compare::Result::kLess:
      out["result"] = "LESS";
      break;
  }
  switch (compare.target) {
    case Compare::Target::kCreateRevision:
      out["target"] = "CREATE";
      out["create_revision"] = std::to_string(compare.number);
      break;
    case Compare::Target::kModRevision:
      out["target"] = "MOD";
      out["mod_revision"] = std::to_string(compare.number);
      break;
    case Compare::Target::kVersion:
      out["target"] = "VERSION";
      out["version"] = std::to_string(compare.number);
      break;
    case Compare::Target::kValue:
      out["target"] = "VALUE";
      out["value"] = Base64(compare.value);
      break;
  }
  return out;
}

Json EncodePut(std::string_view key, std::string_view value, int64_t lease) {
  Json out = Json::object();
  out["key"] = Base64(key);
  out["value"] = Base64(value);
  if (lease != 0) out["lease"] = std::to_string(lease);
  return out;
}

Json EncodeOp(const Op& op) {
  Json out = Json::object();
  Json request = Json::object();
  switch (op.kind) {
    case Op::Kind::kPut:
      out["request_put"] = EncodePut(op.range.key, op.value, op.lease);
      break;
    case Op::Kind::kDelete:
      SetRange(request, op.range);
      out["request_delete_range"] = std::move(request);
      break;
    case Op::Kind::kRange:
      SetRange(request, op.range);
      out["request_range"] = std::move(request);
      break;
  }
  return out;
}

// --- Transport --------------------------------------------------------------------------------

size_t AppendAnswer(char* data, size_t size, size_t count, void* user) {
  auto* answer = static_cast<std::string*>(user);
  const size_t bytes = size * count;
  // Returning less than was given fails the transfer with CURLE_WRITE_ERROR.
  if (answer->size() + bytes > limits::etcd_answer_bytes_max) return 0;
  answer->append(data, bytes);
  return bytes;
}

// The status for a transfer that failed without an answer from etcd.
absl::Status TransportError(CURLcode rc, const char* error_buffer, absl::string_view where) {
  const std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
      return absl::DeadlineExceededError(absl::StrCat(where, ": ", detail));
    case CURLE_WRITE_ERROR:  // only AppendAnswer's refusal
      return absl::ResourceExhaustedError(
          absl::StrCat(where, ": answer larger than ", limits::etcd_answer_bytes_max, " bytes"));
    default:
      return absl::UnavailableError(absl::StrCat(where, ": ", detail));
  }
}

// --- Watch ------------------------------------------------------------------------------------

// A watch's state, shared by its handle and its thread. A handle destroyed by its own callback
// (so on the thread, which cannot join itself) leaves the thread to finish alone, and the state
// must live as long as the thread.
// Binds the handle's connections to `address` ("host!" makes curl take it as an address, never
// an interface name); empty leaves the choice to the kernel.
void SetLocalAddress(CURL* curl, const std::string& address) {
  if (address.empty()) return;
  const std::string local = absl::StrCat("host!", address);
  curl_easy_setopt(curl, CURLOPT_INTERFACE, local.c_str());
}

struct WatchState {
  WatchState(std::vector<std::string> endpoints, size_t first_endpoint, std::string request,
             std::chrono::milliseconds timeout, int64_t start_revision,
             std::function<void(WatchUpdate)> on_update, std::string local_address)
      : local_address(std::move(local_address)),
        endpoints(std::move(endpoints)),
        first_endpoint(first_endpoint),
        request(std::move(request)),
        timeout(timeout),
        start_revision(start_revision),
        on_update(std::move(on_update)) {}
  ~WatchState() {
    if (multi != nullptr) curl_multi_cleanup(multi);
  }

  // Set when the handle is destroyed, or Watch gives up on the start. The thread checks it
  // before every delivery and after every read, and curl_multi_wakeup wakes it from its wait.
  std::atomic<bool> canceled{false};
  CURLM* const multi = curl_multi_init();

  // How the start went, for Watch to wait on: true once etcd answered or the watch failed first.
  absl::Mutex mu;
  bool started ABSL_GUARDED_BY(mu) = false;
  absl::Status start_status ABSL_GUARDED_BY(mu);

  // The rest belongs to the thread.
  const std::string local_address;  // where connections leave from; empty: any
  const std::vector<std::string> endpoints;
  const size_t first_endpoint;
  const std::string request;
  const std::chrono::milliseconds timeout;
  const int64_t start_revision;
  const std::function<void(WatchUpdate)> on_update;
  std::string endpoint;  // being read
  JsonObjectStream stream{limits::etcd_answer_bytes_max};
  bool answered = false;  // etcd's first answer came: a failure from here on ends the watch
  bool finished = false;  // the end was delivered, or the start failed: read no more
};

// Tells Watch how the start went; false (and nothing told) when Watch has given up waiting.
bool ReportStart(WatchState& s, absl::Status status) {
  absl::MutexLock lock(&s.mu);
  // Watch sets `canceled` under mu when it gives up, so this sees it and a watch that Watch
  // reported as failed never calls back.
  if (s.canceled.load()) return false;
  s.started = true;
  s.start_status = std::move(status);
  return true;
}

void Deliver(WatchState& s, WatchUpdate update) {
  if (s.canceled.load()) return;
  s.on_update(std::move(update));
}

// The watch is over (`status` is never OK): before etcd's first answer Watch returns `status`;
// after it the callback gets the end.
void Finish(WatchState& s, absl::Status status, int64_t compact_revision = 0) {
  if (s.finished) return;
  s.finished = true;
  if (!s.answered) {
    ReportStart(s, std::move(status));
    return;
  }
  WatchUpdate end;
  end.ended = true;
  end.status = std::move(status);
  end.compact_revision = compact_revision;
  Deliver(s, std::move(end));
}

// One object of the watch stream, decoded.
struct WatchAnswer {
  absl::Status error;  // etcd answered an error instead of a result
  bool canceled = false;
  std::string cancel_reason;
  int64_t compact_revision = 0;
  WatchUpdate update;  // no events for "created" and progress notifications
};

WatchAnswer DecodeWatchAnswer(const Json& answer, absl::string_view where) {
  WatchAnswer out;
  if (!Field(answer, "error").is_null()) {
    out.error = ErrorAnswer(answer, where);
    return out;
  }
  const Json& result = Field(answer, "result");
  if (!result.is_object()) throw MalformedAnswer("neither \"result\" nor \"error\"");
  out.canceled = Bool(result, "canceled");
  out.cancel_reason = String(result, "cancel_reason");
  out.compact_revision = Int(result, "compact_revision");
  for (const Json& e : Array(result, "events")) {
    WatchEvent event;
    const std::string type = String(e, "type");  // absent: PUT, the enum's default
    if (type == "DELETE") {
      event.type = WatchEvent::Type::kDelete;
    } else if (!type.empty() && type != "PUT") {
      throw MalformedAnswer(absl::StrCat("event type \"", type, "\""));
    }
    event.kv = DecodeKeyValue(Field(e, "kv"));
    out.update.events.push_back(std::move(event));
  }
  // The newest event's revision, not the header's: a watch catching up on history gets it in
  // batches of at most 1000 revisions, each stamped with the store's current revision, so the
  // header can be far ahead of the events delivered so far.
  if (!out.update.events.empty()) out.update.revision = out.update.events.back().kv.mod_revision;
  return out;
}

void HandleAnswer(WatchState& s, const std::string& text) {
  const std::string where = absl::StrCat("etcd at ", s.endpoint, kWatchPath);
  WatchAnswer answer;
  try {
    answer = DecodeWatchAnswer(Json::parse(text), where);
  } catch (const Json::exception& e) {
    Finish(s, MalformedError(where, e.what()));
    return;
  } catch (const MalformedAnswer& e) {
    Finish(s, MalformedError(where, e.what()));
    return;
  }
  if (!answer.error.ok()) {
    Finish(s, answer.error);
    return;
  }
  if (!s.answered) {
    s.answered = true;
    if (!ReportStart(s, absl::OkStatus())) return;
  }
  if (answer.canceled) {
    // etcd keeps the stream open after canceling; the thread closes it once `finished`.
    if (answer.compact_revision > 0) {
      Finish(s,
             absl::OutOfRangeError(absl::StrCat(where, ": revision ", s.start_revision,
                                                " is compacted (up to ", answer.compact_revision,
                                                ")")),
             answer.compact_revision);
    } else {
      Finish(s, absl::UnavailableError(
                    absl::StrCat(where, ": canceled by etcd: ", answer.cancel_reason)));
    }
    return;
  }
  if (!answer.update.events.empty()) Deliver(s, std::move(answer.update));
}

size_t OnWatchBytes(char* data, size_t size, size_t count, void* user) {
  auto& s = *static_cast<WatchState*>(user);
  const size_t bytes = size * count;
  s.stream.Append({data, bytes});
  while (!s.finished && !s.canceled.load()) {
    absl::StatusOr<std::string> answer = s.stream.Next();
    if (!answer.ok()) {
      const std::string where = absl::StrCat("etcd at ", s.endpoint, kWatchPath);
      Finish(s, answer.status().code() == absl::StatusCode::kResourceExhausted
                    ? absl::ResourceExhaustedError(
                          absl::StrCat(where, ": ", answer.status().message()))
                    : MalformedError(where, answer.status().message()));
      break;
    }
    if (answer->empty()) return bytes;
    HandleAnswer(s, *answer);
  }
  // Stops the transfer (curl ends it with CURLE_WRITE_ERROR, which the thread expects).
  return 0;
}

// Three unanswered keepalive probes give up a watch's connection (Linux's default is nine).
int SetKeepAliveProbes(void*, curl_socket_t fd, curlsocktype purpose) {
  if (purpose == CURLSOCKTYPE_IPCXN) {
    const int probes = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
  }
  return CURL_SOCKOPT_OK;
}

struct StreamEnd {
  CURLcode rc = CURLE_OK;
  std::string error;
  bool sent = false;  // the request left: etcd may have seen it
};

// Streams the watch from s.endpoint until the transfer ends, the watch finishes or is canceled.
StreamEnd Stream(WatchState& s) {
  StreamEnd end;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return {CURLE_OUT_OF_MEMORY, "curl_easy_init failed", false};
  char error[CURL_ERROR_SIZE] = {0};
  const std::string url = absl::StrCat("http://", s.endpoint, kWatchPath);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  SetLocalAddress(curl, s.local_address);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, JsonHeaders());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, s.request.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(s.request.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnWatchBytes);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(s.timeout.count()));
  // No transfer timeout: the stream lasts as long as the watch. A peer that died without closing
  // is found by keepalive probes instead.
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE,
                   static_cast<long>(std::max<int64_t>(1, s.timeout.count() / 1000)));
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL, 1L);
  curl_easy_setopt(curl, CURLOPT_SOCKOPTFUNCTION, SetKeepAliveProbes);
  if (const CURLMcode mc = curl_multi_add_handle(s.multi, curl); mc != CURLM_OK) {
    curl_easy_cleanup(curl);
    return {CURLE_FAILED_INIT, curl_multi_strerror(mc), false};
  }
  while (!s.finished && !s.canceled.load()) {
    int running = 0;
    const CURLMcode mc = curl_multi_perform(s.multi, &running);
    if (mc != CURLM_OK) {
      end.rc = CURLE_RECV_ERROR;
      end.error = curl_multi_strerror(mc);
      break;
    }
    bool done = false;
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(s.multi, &queued)) {
      if (msg->msg == CURLMSG_DONE) {
        end.rc = msg->data.result;
        done = true;
      }
    }
    if (done || running == 0) break;
    // Until the socket has bytes, curl has a timer due, or the handle calls curl_multi_wakeup.
    curl_multi_poll(s.multi, nullptr, 0, 1000, nullptr);
  }
  long request_bytes = 0;
  curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_bytes);
  end.sent = request_bytes > 0;
  if (end.error.empty()) end.error = error[0] != '\0' ? error : curl_easy_strerror(end.rc);
  curl_multi_remove_handle(s.multi, curl);
  curl_easy_cleanup(curl);
  return end;
}

void RunWatch(WatchState& s) {
  const size_t n = s.endpoints.size();
  for (size_t i = 0; i < n; ++i) {
    s.endpoint = s.endpoints[(s.first_endpoint + i) % n];
    const StreamEnd end = Stream(s);
    if (s.finished || s.canceled.load()) return;
    // Another endpoint is tried only before etcd has answered, and only if this one was never
    // reached: once a watch has delivered, a new stream could miss or repeat events.
    if (!s.answered && !end.sent && i + 1 < n) continue;
    const std::string where = absl::StrCat("etcd at ", s.endpoint, kWatchPath);
    if (end.rc == CURLE_OPERATION_TIMEDOUT) {
      Finish(s, absl::DeadlineExceededError(absl::StrCat(where, ": ", end.error)));
    } else if (end.rc == CURLE_OK) {
      Finish(s, absl::UnavailableError(absl::StrCat(where, ": etcd closed the stream")));
    } else {
      Finish(s, absl::UnavailableError(absl::StrCat(where, ": ", end.error)));
    }
    return;
  }
}

// Cancels the watch and waits for its thread, which then calls back no more.
void StopWatch(WatchState& s, std::thread& thread) {
  s.canceled.store(true);
  curl_multi_wakeup(s.multi);
  if (thread.get_id() == std::this_thread::get_id()) {
    // Destroyed by its own callback: the thread sees `canceled` as soon as the callback returns.
    thread.detach();
  } else {
    thread.join();
  }
}

class HttpWatchHandle final : public WatchHandle {
 public:
  HttpWatchHandle(std::shared_ptr<WatchState> state, std::thread thread)
      : state_(std::move(state)), thread_(std::move(thread)) {}
  ~HttpWatchHandle() override { StopWatch(*state_, thread_); }

 private:
  std::shared_ptr<WatchState> state_;
  std::thread thread_;
};

}  // namespace

// --- EtcdHttpClient ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<EtcdHttpClient>> EtcdHttpClient::Create(
    std::vector<std::string> endpoints, std::chrono::milliseconds request_timeout,
    std::string local_address) {
  if (endpoints.empty()) return absl::InvalidArgumentError("no etcd endpoints");
  for (const std::string& endpoint : endpoints) {
    if (endpoint.empty() || endpoint.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("etcd endpoint \"", endpoint, "\" is not host:port"));
    }
  }
  if (request_timeout.count() <= 0) {
    return absl::InvalidArgumentError("the etcd request timeout must be positive");
  }
  if (const CURLcode rc = InitCurl(); rc != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat("curl_global_init failed: ", curl_easy_strerror(rc)));
  }
  return std::unique_ptr<EtcdHttpClient>(
      new EtcdHttpClient(std::move(endpoints), request_timeout, std::move(local_address)));
}

EtcdHttpClient::EtcdHttpClient(std::vector<std::string> endpoints,
                               std::chrono::milliseconds request_timeout,
                               std::string local_address)
    : endpoints_(std::move(endpoints)),
      request_timeout_(request_timeout),
      local_address_(std::move(local_address)) {}

EtcdHttpClient::~EtcdHttpClient() {
  absl::MutexLock lock(&mu_);
  for (void* handle : idle_handles_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* EtcdHttpClient::TakeHandle() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_handles_.empty()) {
      void* handle = idle_handles_.back();
      idle_handles_.pop_back();
      return handle;
    }
  }
  return curl_easy_init();
}

void EtcdHttpClient::ReturnHandle(void* handle) {
  {
    absl::MutexLock lock(&mu_);
    if (idle_handles_.size() < limits::etcd_idle_connections_max) {
      idle_handles_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

absl::StatusOr<EtcdHttpClient::Answer> EtcdHttpClient::Post(std::string_view path_view,
                                                            const std::string& body) {
  const absl::string_view path(path_view.data(), path_view.size());
  const auto deadline = Clock::now() + request_timeout_;
  CURL* curl = static_cast<CURL*>(TakeHandle());
  if (curl == nullptr) return absl::ResourceExhaustedError("curl_easy_init failed");
  absl::Cleanup give_back = [&] { ReturnHandle(curl); };
  const size_t n = endpoints_.size();
  const size_t first = preferred_endpoint_.load(std::memory_order_relaxed);
  absl::Status status;
  for (size_t i = 0; i < n; ++i) {
    const size_t index = (first + i) % n;
    const std::string where = absl::StrCat("etcd at ", endpoints_[index], path);
    const int64_t left_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left_ms <= 0) break;  // only after an endpoint used up the time to connect: `status`
    // Each endpoint left gets an equal share of the time to connect, so one that swallows
    // connection attempts does not use up the time of those after it.
    const int64_t connect_ms = std::max<int64_t>(1, left_ms / static_cast<int64_t>(n - i));
    const std::string url = absl::StrCat("http://", endpoints_[index], path);
    std::string answer;
    char error[CURL_ERROR_SIZE] = {0};
    // A reset handle keeps its open connection, which the next request to the endpoint reuses.
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    SetLocalAddress(curl, local_address_);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, JsonHeaders());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendAnswer);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(left_ms));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_ms));
    const CURLcode rc = curl_easy_perform(curl);
    // The error buffer lives in this loop: the handle must not keep pointing at it.
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
    if (rc == CURLE_OK) {
      preferred_endpoint_.store(index, std::memory_order_relaxed);
      long http_code = 0;
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_code);
      if (http_code == 200) return Answer{std::move(answer), where};
      return HttpError(http_code, answer, where);
    }
    status = TransportError(rc, error, where);
    // Only a request that never left may go to the next endpoint: etcd may have applied one
    // that left, and a put or txn must not run twice.
    long request_bytes = 0;
    curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &request_bytes);
    if (request_bytes > 0) return status;
  }
  if (status.ok()) {  // no attempt at all: the timeout had passed before the first
    return absl::DeadlineExceededError(absl::StrCat(
        "etcd", path, ": no time left for a request within ", request_timeout_.count(), " ms"));
  }
  return status;
}

absl::StatusOr<RangeResult> EtcdHttpClient::Range(const KeyRange& range) {
  Json request = Json::object();
  SetRange(request, range);
  STRATA_ASSIGN_OR_RETURN(const Answer answer, Post(kRangePath, request.dump()));
  return Decode(answer.where, answer.body,
                [](const Json& a) -> absl::StatusOr<RangeResult> { return DecodeRange(a); });
}

absl::StatusOr<int64_t> EtcdHttpClient::Put(std::string_view key, std::string_view value,
                                            int64_t lease) {
  STRATA_ASSIGN_OR_RETURN(const Answer answer, Post(kPutPath, EncodePut(key, value, lease).dump()));
  return Decode(answer.where, answer.body,
                [](const Json& a) -> absl::StatusOr<int64_t> { return HeaderRevision(a); });
}

absl::StatusOr<int64_t> EtcdHttpClient::Delete(const KeyRange& range) {
  Json request = Json::object();
  SetRange(request, range);
  STRATA_ASSIGN_OR_RETURN(const Answer answer, Post(kDeletePath, request.dump()));
  return Decode(answer.where, answer.body,
                [](const Json& a) -> absl::StatusOr<int64_t> { return Int(a, "deleted"); });
}

absl::StatusOr<TxnResult> EtcdHttpClient::Commit(const Txn& txn) {
  Json request = Json::object();
  Json& compares = request["compare"] = Json::array();
  for (const Compare& c : txn.compares) compares.push_back(EncodeCompare(c));
  Json& success = request["success"] = Json::array();
  for (const Op& op : txn.success) success.push_back(EncodeOp(op));
  Json& failure = request["failure"] = Json::array();
  for (const Op& op : txn.failure) failure.push_back(EncodeOp(op));
  STRATA_ASSIGN_OR_RETURN(const Answer answer, Post(kTxnPath, request.dump()));
  return Decode(answer.where, answer.body, [&](const Json& a) -> absl::StatusOr<TxnResult> {
    TxnResult out;
    out.succeeded = Bool(a, "succeeded");
    out.revision = HeaderRevision(a);
    const std::vector<Op>& ran = out.succeeded ? txn.success : txn.failure;
    const Json& responses = Array(a, "responses");
    if (responses.size() != ran.size()) {
      throw MalformedAnswer(absl::StrCat(responses.size(), " responses to ", ran.size(), " ops"));
    }
    for (size_t i = 0; i < ran.size(); ++i) {
      if (ran[i].kind != Op::Kind::kRange) {
        out.ranges.emplace_back();
        continue;
      }
      RangeResult range = DecodeRange(Field(responses[i], "response_range"));
      if (range.revision == 0) range.revision = out.revision;
      out.ranges.push_back(std::move(range));
    }
    return out;
  });
}

absl::StatusOr<Lease> EtcdHttpClient::GrantLease(int64_t ttl_seconds) {
  Json request = Json::object();
  request["TTL"] = std::to_string(ttl_seconds);
  STRATA_ASSIGN_OR_RETURN(const Answer answer, Post(kGrantPath, request.dump()));
  return Decode(answer.where, answer.body, [&](const Json& a) -> absl::StatusOr<Lease> {
    // LeaseGrantResponse has an error string of its own, besides the gateway's error answers.
    if (const std::string error = String(a, "error"); !error.empty()) {
      return absl::UnavailableError(absl::StrCat(answer.where, ": ", error));
    }
    Lease lease{Int(a, "ID"), Int(a, "TTL")};
    if (lease.id == 0) throw MalformedAnswer("no lease ID");
    return lease;
  });
}

absl::StatusOr<int64_t> EtcdHttpClient::KeepAlive(int64_t lease_id) {
  Json request = Json::object();
  request["ID"] = std::to_string(lease_id);
  STRATA_ASSIGN_OR_RETURN(Answer answer, Post(kKeepAlivePath, request.dump()));
  // Keepalive is a stream in gRPC, so the gateway answers with a stream of one object (maybe
  // followed by a newline): read the first object only.
  JsonObjectStream stream(limits::etcd_answer_bytes_max);
  stream.Append(answer.body);
  absl::StatusOr<std::string> first = stream.Next();
  if (!first.ok() || first->empty()) return MalformedError(answer.where, "no JSON object");
  answer.body = std::move(*first);
  return Decode(answer.where, answer.body, [&](const Json& a) -> absl::StatusOr<int64_t> {
    if (!Field(a, "error").is_null()) return ErrorAnswer(a, answer.where);
    // An unknown lease is not an error here: the answer just has no TTL (or 0).
    const int64_t ttl = Int(Field(a, "result"), "TTL");
    if (ttl <= 0) {
      return absl::NotFoundError(
          absl::StrCat("etcd lease ", lease_id, " has expired or was revoked"));
    }
    return ttl;
  });
}

absl::Status EtcdHttpClient::RevokeLease(int64_t lease_id) {
  Json request = Json::object();
  request["ID"] = std::to_string(lease_id);
  return Post(kRevokePath, request.dump()).status();
}

absl::Status EtcdHttpClient::Compact(int64_t revision) {
  Json request = Json::object();
  request["revision"] = std::to_string(revision);
  request["physical"] = true;
  return Post(kCompactPath, request.dump()).status();
}

absl::StatusOr<std::unique_ptr<WatchHandle>> EtcdHttpClient::Watch(
    const KeyRange& range, int64_t start_revision, std::function<void(WatchUpdate)> on_update) {
  Json create = Json::object();
  SetRange(create, range);
  // 0 (or less): from the store's revision when etcd receives the watch.
  if (start_revision > 0) create["start_revision"] = std::to_string(start_revision);
  Json request = Json::object();
  request["create_request"] = std::move(create);
  auto state = std::make_shared<WatchState>(
      endpoints_, preferred_endpoint_.load(std::memory_order_relaxed), request.dump(),
      request_timeout_, start_revision, std::move(on_update), local_address_);
  if (state->multi == nullptr) return absl::ResourceExhaustedError("curl_multi_init failed");
  std::thread thread;
  try {
    thread = std::thread([state] { RunWatch(*state); });
  } catch (const std::system_error& e) {  // out of threads: no exception leaves the client
    return absl::ResourceExhaustedError(absl::StrCat("no thread for an etcd watch: ", e.what()));
  }
  absl::Status status;
  {
    absl::MutexLock lock(&state->mu);
    if (state->mu.AwaitWithTimeout(absl::Condition(&state->started),
                                   absl::FromChrono(request_timeout_))) {
      status = state->start_status;
    } else {
      // Under mu, so that ReportStart sees it: the watch will never call back.
      state->canceled.store(true);
      status = absl::DeadlineExceededError(
          absl::StrCat("etcd did not confirm a watch within ", request_timeout_.count(), " ms"));
    }
  }
  if (!status.ok()) {
    StopWatch(*state, thread);
    return status;
  }
  return std::make_unique<HttpWatchHandle>(std::move(state), std::move(thread));
}

}  // namespace strata::cluster
