#include "protocol/request_size.h"

#include <flatbuffers/reflection.h>

#include <optional>
#include <string>
#include <vector>

namespace strata::protocol {

namespace {

// The counting saturates far below overflow: a body is at most limits::frame_bytes_max, so any
// count past that is refused anyway.
constexpr uint64_t kCap = uint64_t{1} << 62;

// What the walk does with one field of a table. Fields that hold no offset (scalars, enums,
// structs, union type tags) get no step: they lie inside the table, whose 4 stand for them.
enum class Kind : uint8_t {
  kString,   // 4 + length + 1
  kTable,    // the table's own count
  kUnion,    // the table's own count, its type named by the tag at type_offset
  kScalars,  // a vector of scalars or structs: 4 + size * element_bytes
  kStrings,  // 4 + 4 * size + each string
  kTables,   // 4 + 4 * size + each table
  kUnions,   // 4 + 4 * size + each table, typed by the tag vector at type_offset
};

struct Step {
  Kind kind;
  flatbuffers::voffset_t offset = 0;       // the field's vtable slot
  flatbuffers::voffset_t type_offset = 0;  // kUnion, kUnions: the slot of the <name>_type field
  uint32_t element_bytes = 0;              // kScalars
  int object = -1;                         // kTable, kTables: index of the table's type
  int union_enum = -1;                     // kUnion, kUnions: index into Plans::union_members
};

// The binary schema read once into what the walk needs. objects[i] holds the steps of
// BinarySchema().objects()->Get(i) (none for a struct). union_members[e][tag] is the table type a
// tag of union enum e names, or -1 for NONE and for a tag this build does not know: the generated
// verifier accepts an unknown tag without verifying the table, so the walk must never follow one.
struct Plans {
  std::vector<std::vector<Step>> objects;
  std::vector<std::vector<int>> union_members;
};

// The step for one field, or nullopt when the field holds no offset. `type_offset` is the slot of
// the field's <name>_type sibling (unions only).
std::optional<Step> StepFor(const reflection::Schema& schema, const reflection::Field& field,
                            flatbuffers::voffset_t type_offset) {
  const reflection::Type& type = *field.type();
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
    case reflection::Union:
      step.kind = Kind::kUnion;
      step.type_offset = type_offset;
      step.union_enum = type.index();
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
        case reflection::Union:
          step.kind = Kind::kUnions;
          step.type_offset = type_offset;
          step.union_enum = type.index();
          return step;
        default:
          step.kind = Kind::kScalars;
          step.element_bytes = uint32_t(flatbuffers::GetTypeSize(type.element()));
          return step;
      }
    default:
      return std::nullopt;  // a scalar, an enum or a union's type tag: inside the table
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
      flatbuffers::voffset_t type_offset = 0;
      const reflection::BaseType base = field->type()->base_type();
      if (base == reflection::Union ||
          (base == reflection::Vector && field->type()->element() == reflection::Union)) {
        const std::string tag_name = field->name()->str() + flatbuffers::UnionTypeFieldSuffix();
        type_offset = object.fields()->LookupByKey(tag_name.c_str())->offset();
      }
      if (auto step = StepFor(schema, *field, type_offset)) plans.objects[i].push_back(*step);
    }
  }
  plans.union_members.resize(schema.enums()->size());
  for (flatbuffers::uoffset_t e = 0; e < schema.enums()->size(); ++e) {
    const reflection::Enum& en = *schema.enums()->Get(e);
    if (!en.is_union()) continue;
    std::vector<int>& members = plans.union_members[e];
    members.assign(256, -1);  // tags are ubyte
    for (const reflection::EnumVal* value : *en.values()) {
      const reflection::Type* member = value->union_type();
      // Only table members are followed; NONE (0) has no type, and C++ unions hold only tables.
      if (value->value() <= 0 || value->value() > 255 || member == nullptr ||
          member->base_type() != reflection::Obj) {
        continue;
      }
      members[size_t(value->value())] = member->index();
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
      case Kind::kUnion: {
        const int object = Member(step, table.GetField<uint8_t>(step.type_offset, 0));
        const auto* t = table.GetPointer<const flatbuffers::Table*>(step.offset);
        if (object >= 0 && t != nullptr) Table(*t, object);
        return;
      }
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
      case Kind::kUnions: {
        const auto* v = table.GetPointer<const Tables*>(step.offset);
        if (v == nullptr) return;
        Add(4 + 4 * uint64_t(v->size()));
        // The tags are a vector field of their own, counted by its own step; the verifier
        // refused a body whose tag and value vectors differ in length.
        const auto* tags =
            table.GetPointer<const flatbuffers::Vector<uint8_t>*>(step.type_offset);
        if (tags == nullptr || tags->size() != v->size()) return;
        for (flatbuffers::uoffset_t i = 0; i < v->size(); ++i) {
          if (total_ >= kCap) return;
          const int object = Member(step, tags->Get(i));
          if (object >= 0) Table(*v->Get(i), object);
        }
        return;
      }
    }
  }

  void String(const flatbuffers::String* s) {
    if (s != nullptr) Add(4 + uint64_t(s->size()) + 1);
  }
  int Member(const Step& step, uint8_t tag) const {
    return plans_.union_members[size_t(step.union_enum)][tag];
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
