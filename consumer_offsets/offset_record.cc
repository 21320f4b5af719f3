#include "consumer_offsets/offset_record.h"

#include <cassert>

#include "absl/strings/str_cat.h"
#include "common/endian.h"

namespace strata::consumer_offsets {

namespace {

void PutString(std::vector<std::byte>& out, const std::string& s) {
  assert(s.size() <= UINT16_MAX);
  const size_t at = out.size();
  out.resize(at + 2 + s.size());
  PutU16(out.data() + at, static_cast<uint16_t>(s.size()));
  for (size_t i = 0; i < s.size(); ++i) out[at + 2 + i] = std::byte(s[i]);
}

// Reads fields in order from a span, remembering the first failure.
class Reader {
 public:
  Reader(std::span<const std::byte> bytes, const char* what) : bytes_(bytes), what_(what) {}

  absl::StatusOr<uint16_t> U16() {
    STRATA_RETURN_IF_ERROR(Need(2));
    uint16_t v = GetU16(bytes_.data() + pos_);
    pos_ += 2;
    return v;
  }
  absl::StatusOr<int32_t> I32() {
    STRATA_RETURN_IF_ERROR(Need(4));
    int32_t v = GetI32(bytes_.data() + pos_);
    pos_ += 4;
    return v;
  }
  absl::StatusOr<int64_t> I64() {
    STRATA_RETURN_IF_ERROR(Need(8));
    int64_t v = GetI64(bytes_.data() + pos_);
    pos_ += 8;
    return v;
  }
  absl::StatusOr<std::string> String() {
    STRATA_ASSIGN_OR_RETURN(uint16_t len, U16());
    STRATA_RETURN_IF_ERROR(Need(len));
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
    pos_ += len;
    return s;
  }
  absl::Status End() const {
    if (pos_ != bytes_.size()) {
      return absl::DataLossError(absl::StrCat(what_, ": ", bytes_.size() - pos_,
                                              " bytes after the last field"));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Need(size_t n) const {
    if (bytes_.size() - pos_ < n) {
      return absl::DataLossError(absl::StrCat(what_, " of ", bytes_.size(),
                                              " bytes ends inside a field at byte ", pos_));
    }
    return absl::OkStatus();
  }

  std::span<const std::byte> bytes_;
  const char* what_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<std::byte> EncodeOffsetKey(const OffsetKey& key) {
  std::vector<std::byte> out(2);
  PutU16(out.data(), offset_record::kKeyVersion);
  PutString(out, key.group);
  PutString(out, key.topic);
  const size_t at = out.size();
  out.resize(at + 4);
  PutI32(out.data() + at, key.partition);
  return out;
}

std::vector<std::byte> EncodeOffsetValue(const OffsetValue& value) {
  std::vector<std::byte> out(18);
  PutU16(out.data(), offset_record::kValueVersion);
  PutI64(out.data() + 2, value.offset);
  PutI64(out.data() + 10, value.commit_timestamp_ms);
  PutString(out, value.metadata);
  return out;
}

absl::StatusOr<OffsetKey> DecodeOffsetKey(std::span<const std::byte> bytes) {
  Reader r(bytes, "offset commit key");
  STRATA_ASSIGN_OR_RETURN(uint16_t version, r.U16());
  if (version != offset_record::kKeyVersion) {
    return absl::DataLossError(absl::StrCat("offset commit key version ", version,
                                            " is not one this broker knows (",
                                            offset_record::kKeyVersion, ")"));
  }
  OffsetKey key;
  STRATA_ASSIGN_OR_RETURN(key.group, r.String());
  STRATA_ASSIGN_OR_RETURN(key.topic, r.String());
  STRATA_ASSIGN_OR_RETURN(key.partition, r.I32());
  STRATA_RETURN_IF_ERROR(r.End());
  return key;
}

absl::StatusOr<OffsetValue> DecodeOffsetValue(std::span<const std::byte> bytes) {
  Reader r(bytes, "offset commit value");
  STRATA_ASSIGN_OR_RETURN(uint16_t version, r.U16());
  if (version != offset_record::kValueVersion) {
    return absl::DataLossError(absl::StrCat("offset commit value version ", version,
                                            " is not one this broker knows (",
                                            offset_record::kValueVersion, ")"));
  }
  OffsetValue value;
  STRATA_ASSIGN_OR_RETURN(value.offset, r.I64());
  STRATA_ASSIGN_OR_RETURN(value.commit_timestamp_ms, r.I64());
  STRATA_ASSIGN_OR_RETURN(value.metadata, r.String());
  STRATA_RETURN_IF_ERROR(r.End());
  return value;
}

}  // namespace strata::consumer_offsets
