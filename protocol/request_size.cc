#include "protocol/request_size.h"

namespace strata::protocol {

namespace {

// The counting saturates far below overflow: a body is at most limits::frame_bytes_max, so any
// count past that is refused anyway.
constexpr uint64_t kCap = uint64_t{1} << 62;

class Counter {
 public:
  void Table() { Add(4); }
  void String(const flatbuffers::String* s) {
    if (s != nullptr) Add(4 + uint64_t(s->size()) + 1);
  }
  template <typename T>
  void Scalars(const flatbuffers::Vector<T>* v) {
    if (v != nullptr) Add(4 + uint64_t(v->size()) * sizeof(T));
  }
  void Strings(const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>* v) {
    if (v == nullptr) return;
    Add(4 + 4 * uint64_t(v->size()));
    for (const auto* s : *v) {
      if (total_ >= kCap) return;
      String(s);
    }
  }
  // A vector of tables, each counted by `each`.
  template <typename T, typename Each>
  void Tables(const flatbuffers::Vector<flatbuffers::Offset<T>>* v, Each each) {
    if (v == nullptr) return;
    Add(4 + 4 * uint64_t(v->size()));
    for (const T* t : *v) {
      if (total_ >= kCap) return;
      Table();
      each(t);
    }
  }
  uint64_t total() const { return total_; }

 private:
  void Add(uint64_t n) { total_ = total_ + n > kCap ? kCap : total_ + n; }
  uint64_t total_ = 4;  // the root offset
};

void Configs(Counter& c, const flatbuffers::Vector<flatbuffers::Offset<fb::ConfigEntry>>* v) {
  c.Tables(v, [&](const fb::ConfigEntry* e) {
    c.String(e->key());
    c.String(e->value());
  });
}

}  // namespace

uint64_t ReadBytes(const fb::ApiVersionsRequest* r) {
  Counter c;
  c.Table();
  c.String(r->client_software_name());
  c.String(r->client_software_version());
  return c.total();
}

uint64_t ReadBytes(const fb::MetadataRequest* r) {
  Counter c;
  c.Table();
  c.Strings(r->topics());
  return c.total();
}

uint64_t ReadBytes(const fb::CreateTopicsRequest* r) {
  Counter c;
  c.Table();
  c.Tables(r->topics(), [&](const fb::CreatableTopic* t) {
    c.String(t->name());
    Configs(c, t->configs());
  });
  return c.total();
}

uint64_t ReadBytes(const fb::DeleteTopicsRequest* r) {
  Counter c;
  c.Table();
  c.Strings(r->topics());
  return c.total();
}

uint64_t ReadBytes(const fb::InitProducerIdRequest*) {
  Counter c;
  c.Table();
  return c.total();
}

uint64_t ReadBytes(const fb::DescribeConfigsRequest* r) {
  Counter c;
  c.Table();
  c.Strings(r->topics());
  return c.total();
}

uint64_t ReadBytes(const fb::AlterConfigsRequest* r) {
  Counter c;
  c.Table();
  c.Tables(r->topics(), [&](const fb::AlterTopicConfig* t) {
    c.String(t->name());
    Configs(c, t->configs());
  });
  return c.total();
}

uint64_t ReadBytes(const fb::ProduceRequest* r) {
  Counter c;
  c.Table();
  c.Tables(r->topics(), [&](const fb::TopicProduceData* t) {
    c.String(t->name());
    c.Tables(t->partitions(),
             [&](const fb::PartitionProduceData* p) { c.Scalars(p->records()); });
  });
  return c.total();
}

uint64_t ReadBytes(const fb::FetchRequest* r) {
  Counter c;
  c.Table();
  c.Tables(r->topics(), [&](const fb::FetchTopic* t) {
    c.String(t->name());
    c.Tables(t->partitions(), [](const fb::FetchPartition*) {});
  });
  return c.total();
}

uint64_t ReadBytes(const fb::ListOffsetsRequest* r) {
  Counter c;
  c.Table();
  c.Tables(r->topics(), [&](const fb::ListOffsetsTopic* t) {
    c.String(t->name());
    c.Tables(t->partitions(), [](const fb::ListOffsetsPartition*) {});
  });
  return c.total();
}

uint64_t ReadBytes(const fb::FindCoordinatorRequest* r) {
  Counter c;
  c.Table();
  c.String(r->key());
  return c.total();
}

uint64_t ReadBytes(const fb::JoinGroupRequest* r) {
  Counter c;
  c.Table();
  c.String(r->group_id());
  c.String(r->member_id());
  c.String(r->group_instance_id());
  c.String(r->protocol_type());
  c.String(r->client_id());
  c.String(r->reason());
  c.Tables(r->protocols(), [&](const fb::JoinGroupProtocol* p) {
    c.String(p->name());
    c.Scalars(p->metadata());
  });
  return c.total();
}

uint64_t ReadBytes(const fb::SyncGroupRequest* r) {
  Counter c;
  c.Table();
  c.String(r->group_id());
  c.String(r->member_id());
  c.String(r->group_instance_id());
  c.String(r->protocol_type());
  c.String(r->protocol_name());
  c.Tables(r->assignments(), [&](const fb::SyncGroupAssignment* a) {
    c.String(a->member_id());
    c.Scalars(a->assignment());
  });
  return c.total();
}

uint64_t ReadBytes(const fb::HeartbeatRequest* r) {
  Counter c;
  c.Table();
  c.String(r->group_id());
  c.String(r->member_id());
  c.String(r->group_instance_id());
  return c.total();
}

uint64_t ReadBytes(const fb::LeaveGroupRequest* r) {
  Counter c;
  c.Table();
  c.String(r->group_id());
  c.Tables(r->members(), [&](const fb::LeaveGroupMember* m) {
    c.String(m->member_id());
    c.String(m->group_instance_id());
    c.String(m->reason());
  });
  return c.total();
}

uint64_t ReadBytes(const fb::OffsetCommitRequest* r) {
  Counter c;
  c.Table();
  c.String(r->group_id());
  c.String(r->member_id());
  c.String(r->group_instance_id());
  c.Tables(r->topics(), [&](const fb::OffsetCommitTopic* t) {
    c.String(t->name());
    c.Tables(t->partitions(),
             [&](const fb::OffsetCommitPartition* p) { c.String(p->committed_metadata()); });
  });
  return c.total();
}

uint64_t ReadBytes(const fb::OffsetFetchRequest* r) {
  Counter c;
  c.Table();
  c.String(r->group_id());
  c.String(r->member_id());
  c.Tables(r->topics(), [&](const fb::OffsetFetchTopic* t) {
    c.String(t->name());
    c.Scalars(t->partitions());
  });
  return c.total();
}

uint64_t ReadBytes(const fb::ListGroupsRequest* r) {
  Counter c;
  c.Table();
  c.Strings(r->states_filter());
  return c.total();
}

uint64_t ReadBytes(const fb::DescribeGroupsRequest* r) {
  Counter c;
  c.Table();
  c.Strings(r->groups());
  return c.total();
}

uint64_t ReadBytes(const fb::DeleteGroupsRequest* r) {
  Counter c;
  c.Table();
  c.Strings(r->groups());
  return c.total();
}

}  // namespace strata::protocol
