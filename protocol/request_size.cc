#include "protocol/request_size.h"

#include <flatbuffers/reflection.h>

#include <optional>
#include <string>
#include <vector>

#include "common/check.h"

namespace strata::protocol {

namespace {

// The counting saturates far below overflow: a body is at most limits::frame_bytes_max, so any
// count past that is refused anyway.
constexpr uint64_t kCap = uint64_t{1} << 62;

// What the walk does with one field of a table. Fields that hold no offset (scalars, enums,
// structs) get no step: they lie inside the table, whose 4 stand for them.
enum class Kind : uint8_t {
  kString,   // 4 + length + 1
  kTable,    // the table's own count
  kScalars,  // a vector of scalars or structs: 4 + size * element_bytes
  kStrings,  // 4 + 4 * size + each string
  kTables,   // 4 + 4 * size + each table
};

struct Step {
  Kind kind;
  flatbuffers::voffset_t offset = 0;  // the field's vtable slot
  uint32_t element_bytes = 0;         // kScalars
  int object = -1;                    // kTable, kTables: index of the table's type
};

// The binary schema read once into what the walk needs: objects[i] holds the steps of
// BinarySchema().objects()->Get(i) (none for a struct).
struct Plans {
  std::vector<std::vector<Step>> objects;
};

// The step for one field, or nullopt when the field holds no offset. No request uses a union, so
// the walk knows none: a schema that adds one stops the first count (and the tests) here, rather
// than be undercounted.
std::optional<Step> StepFor(const reflection::Schema& schema, const reflection::Object& object,
                            const reflection::Field& field) {
  const reflection::Type& type = *field.type();
  STRATA_CHECK(type.base_type() != reflection::Union &&
               !(type.base_type() == reflection::Vector && type.element() == reflection::Union))
      << object.name()->str() << "." << field.name()->str()
      << " is a union; protocol/request_size.cc counts none yet";
  const auto is_struct = [&](int index) { return schema.objects()->Get(index)->is_struct(); };
  Step step{.kind = Kind::kString, .offset = field.offset()};
  switch (type.base_type()) {
    case reflection::String:
      return step;
    case reflection::Obj:
      if (is_struct(type.index())) return std::nullopt;
      step.kind = Kind::kTable;
      step.object = type.index();
      return step;
    case reflection::Vector:
      switch (type.element()) {
        case reflection::String:
          step.kind = Kind::kStrings;
          return step;
        case reflection::Obj:
          if (is_struct(type.index())) {
            step.kind = Kind::kScalars;
            step.element_bytes = schema.objects()->Get(type.index())->bytesize();
            return step;
          }
          step.kind = Kind::kTables;
          step.object = type.index();
          return step;
        default:
          step.kind = Kind::kScalars;
          step.element_bytes = uint32_t(flatbuffers::GetTypeSize(type.element()));
          return step;
      }
    default:
      return std::nullopt;  // a scalar or an enum: inside the table
  }
}

Plans MakePlans(const reflection::Schema& schema) {
  Plans plans;
  plans.objects.resize(schema.objects()->size());
  for (flatbuffers::uoffset_t i = 0; i < schema.objects()->size(); ++i) {
    const reflection::Object& object = *schema.objects()->Get(i);
    if (object.is_struct()) continue;
    for (const reflection::Field* field : *object.fields()) {
      // The generated verifier skips deprecated fields, so their bytes were never checked.
      if (field->deprecated()) continue;
      if (auto step = StepFor(schema, object, *field)) plans.objects[i].push_back(*step);
    }
  }
  return plans;
}

const Plans& GetPlans() {
  static const Plans plans = MakePlans(BinarySchema());
  return plans;
}

class Counter {
 public:
  explicit Counter(const Plans& plans) : plans_(plans) {}

  void Table(const flatbuffers::Table& table, int object) {
    Add(4);
    for (const Step& step : plans_.objects[size_t(object)]) {
      if (total_ >= kCap) return;
      Field(table, step);
    }
  }
  uint64_t total() const { return total_; }

 private:
  using Tables = flatbuffers::Vector<flatbuffers::Offset<flatbuffers::Table>>;
  using Strings = flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>;

  void Field(const flatbuffers::Table& table, const Step& step) {
    switch (step.kind) {
      case Kind::kString:
        String(table.GetPointer<const flatbuffers::String*>(step.offset));
        return;
      case Kind::kTable:
        if (const auto* t = table.GetPointer<const flatbuffers::Table*>(step.offset)) {
          Table(*t, step.object);
        }
        return;
      case Kind::kScalars:
        if (const auto* v = table.GetPointer<const flatbuffers::VectorOfAny*>(step.offset)) {
          Add(4 + uint64_t(v->size()) * step.element_bytes);
        }
        return;
      case Kind::kStrings:
        if (const auto* v = table.GetPointer<const Strings*>(step.offset)) {
          Add(4 + 4 * uint64_t(v->size()));
          for (const flatbuffers::String* s : *v) {
            if (total_ >= kCap) return;
            String(s);
          }
        }
        return;
      case Kind::kTables:
        if (const auto* v = table.GetPointer<const Tables*>(step.offset)) {
          Add(4 + 4 * uint64_t(v->size()));
          for (const flatbuffers::Table* t : *v) {
            if (total_ >= kCap) return;
            Table(*t, step.object);
          }
        }
        return;
    }
  }

  void String(const flatbuffers::String* s) {
    if (s != nullptr) Add(4 + uint64_t(s->size()) + 1);
  }
  void Add(uint64_t n) { total_ = total_ + n > kCap ? kCap : total_ + n; }

  const Plans& plans_;
  uint64_t total_ = 4;  // the root offset
};

}  // namespace

uint64_t ReadBytes(const flatbuffers::Table& table, int object_index) {
  Counter counter(GetPlans());
  counter.Table(table, object_index);
  return counter.total();
}

}  // namespace strata::protocol
