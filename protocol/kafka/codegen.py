#!/usr/bin/env python3
"""Generates Strata's Kafka codec (C++) from the message descriptions in protocol/kafka/messages/.

Usage: codegen.py OUT_DIR DESCRIPTION...
Writes OUT_DIR/kafka_messages.h and OUT_DIR/kafka_messages.cc.

The description language is Strata's own, written from Kafka's message specs; docs/kafka.md
("The codec") is its reference. In short, a file holds messages:

    request Produce 0 versions 3-7 flexible 9+
      transactional_id  string   v3+ null
      acks              int16
      topic_data        []TopicData
        name            string
        partitions      []PartitionData
          index         int32
          records       records  null

A message line is `request|response NAME API_KEY versions MIN-MAX [flexible N+]`. Each field line
is `NAME TYPE [vRANGE] [null[RANGE]] [tagN] [default=X]`, indented under its message or its
struct; RANGE is `N`, `N+` or `N-M`. Types: int8 int16 int32 int64 uint16 float64 bool string
bytes records uuid, `[]T` for an array of a scalar type, `[]Name` for an array of the struct whose
fields are indented below, and `Name` alone for one nested struct. A field is present only in the
versions of its vRANGE (default: all), nullable in its null RANGE (default `null` alone: whenever
present), and a tagged field when it has a tag (only in flexible versions).
"""

import os
import re
import sys

SCALARS = {
    'int8': ('int8_t', 'I8'), 'int16': ('int16_t', 'I16'), 'int32': ('int32_t', 'I32'),
    'int64': ('int64_t', 'I64'), 'uint16': ('uint16_t', 'U16'), 'float64': ('double', 'F64'),
    'bool': ('bool', 'Bool'), 'uuid': ('Uuid', 'UuidValue'),
}
VARIABLE = {'string', 'bytes', 'records'}
INF = 32767


class Range:
    def __init__(self, text, lo_default=0):
        text = text.strip()
        if text.endswith('+'):
            self.lo, self.hi = int(text[:-1]), INF
        elif '-' in text:
            lo, hi = text.split('-')
            self.lo, self.hi = int(lo), int(hi)
        else:
            self.lo = self.hi = int(text)

    def cond(self, var='v'):
        """A C++ condition for `var` inside this range, given the message's own bounds."""
        parts = []
        if self.lo > 0:
            parts.append(f'{var} >= {self.lo}')
        if self.hi != INF:
            parts.append(f'{var} <= {self.hi}')
        return ' && '.join(parts) if parts else 'true'


class Field:
    def __init__(self, name, type_, versions, nullable, tag, default, line):
        self.name, self.type, self.versions, self.nullable = name, type_, versions, nullable
        self.tag, self.default, self.line = tag, default, line
        self.struct = None  # for []Name and Name

    @property
    def is_array(self):
        return self.type.startswith('[]')

    @property
    def elem(self):
        return self.type[2:] if self.is_array else self.type


class Struct:
    def __init__(self, name):
        self.name, self.fields = name, []


class Message(Struct):
    def __init__(self, kind, name, key, versions, flexible):
        super().__init__(name + ('Request' if kind == 'request' else 'Response'))
        self.kind, self.key, self.versions, self.flexible = kind, key, versions, flexible


def fail(path, lineno, msg):
    sys.exit(f'{path}:{lineno}: {msg}')


def parse(path):
    messages = []
    stack = []  # (indent, struct)
    with open(path) as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.split('#', 1)[0].rstrip()
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip(' '))
            words = line.split()
            if indent == 0:
                m = re.fullmatch(r'(request|response) (\w+) (\d+) versions (\d+-\d+)'
                                 r'(?: flexible (\d+)\+)?', ' '.join(words))
                if not m:
                    fail(path, lineno, 'expected `request|response NAME KEY versions MIN-MAX '
                                       '[flexible N+]`')
                kind, name, key, versions, flexible = m.groups()
                msg = Message(kind, name, int(key), Range(versions),
                              int(flexible) if flexible else None)
                messages.append(msg)
                stack = [(0, msg)]
                continue
            while stack and stack[-1][0] >= indent:
                stack.pop()
            if not stack:
                fail(path, lineno, 'field outside a message')
            parent = stack[-1][1]
            name, type_ = words[0], words[1]
            versions, nullable, tag, default = None, None, None, None
            for w in words[2:]:
                if w.startswith('v'):
                    versions = Range(w[1:])
                elif w == 'null':
                    nullable = 'same'
                elif w.startswith('null'):
                    nullable = Range(w[4:])
                elif w.startswith('tag'):
                    tag = int(w[3:])
                elif w.startswith('default='):
                    default = w[len('default='):]
                else:
                    fail(path, lineno, f'unknown attribute {w}')
            field = Field(name, type_, versions, nullable, tag, default, lineno)
            if nullable == 'same':
                field.nullable = versions or Range('0+')
            elem = field.elem
            if elem not in SCALARS and elem not in VARIABLE:
                field.struct = Struct(elem)
                stack.append((indent, field.struct))
            parent.fields.append(field)
    return messages


def cpp_name(name):
    return name


def elem_cpp(f):
    if f.struct:
        return f.struct.name
    if f.elem in SCALARS:
        return SCALARS[f.elem][0]
    return {'string': 'std::string', 'bytes': 'std::vector<std::byte>',
            'records': 'Records'}[f.elem]


def field_cpp(f):
    t = elem_cpp(f)
    if f.is_array:
        t = f'std::vector<{t}>'
    if f.nullable:
        t = f'std::optional<{t}>'
    return t


def field_init(f):
    if f.nullable:
        return ''
    if f.default is not None:
        if f.elem == 'string':
            return f' = "{f.default}"'
        if f.elem == 'bool':
            return f' = {f.default}'
        return f' = {f.default}'
    if f.elem in SCALARS and not f.is_array and f.elem != 'uuid':
        return ' = false' if f.elem == 'bool' else ' = 0'
    return ''


def emit_struct_decl(s, out, indent, message=None):
    pad = ' ' * indent
    nested = [f.struct for f in s.fields if f.struct]
    out.append(f'{pad}struct {s.name} {{')
    if message:
        out.append(f'{pad}  static constexpr int16_t kApiKey = {message.key};')
        out.append(f'{pad}  static constexpr int16_t kMinVersion = {message.versions.lo};')
        out.append(f'{pad}  static constexpr int16_t kMaxVersion = {message.versions.hi};')
        out.append(f'{pad}  // The first flexible version (compact encodings, tagged fields); '
                   f'-1: none.')
        out.append(f'{pad}  static constexpr int16_t kFirstFlexibleVersion = '
                   f'{message.flexible if message.flexible is not None else -1};')
    for n in nested:
        emit_struct_decl(n, out, indent + 2)
    for f in s.fields:
        out.append(f'{pad}  {field_cpp(f)} {f.name}{field_init(f)};')
    if message:
        out.append(f'{pad}  // Reads the body at `version`; an error leaves `r` failed.')
        out.append(f'{pad}  void Decode(Reader& r, int16_t version);')
        out.append(f'{pad}  void Encode(Writer& w, int16_t version) const;')
        out.append(f'{pad}  static bool IsFlexible(int16_t version) {{ return '
                   f'kFirstFlexibleVersion >= 0 && version >= kFirstFlexibleVersion; }}')
    else:
        out.append(f'{pad}  void Decode(Reader& r, int16_t version, bool flexible);')
        out.append(f'{pad}  void Encode(Writer& w, int16_t version, bool flexible) const;')
    out.append(f'{pad}}};')


def read_value(f, target, elem_only=False):
    """C++ statements reading field f (or one element when elem_only) into `target`."""
    t = f.elem
    if f.struct:
        return [f'{target}.Decode(r, v, flex);']
    if t in SCALARS:
        return [f'{target} = r.{SCALARS[t][1]}();']
    nullable = f.nullable and not elem_only
    if t == 'string':
        fn = 'NullableString' if nullable else 'String'
        return [f'{target} = r.{fn}(flex);']
    if t == 'bytes':
        fn = 'NullableBytes' if nullable else 'Bytes'
        return [f'{target} = r.{fn}(flex);']
    if t == 'records':
        return [f'{target} = r.{"NullableRecords" if nullable else "RecordsValue"}(flex);']
    raise ValueError(t)


def decode_field(f, out, pad):
    cond = f.versions.cond() if f.versions else 'true'
    body = []
    null_cond = f.nullable.cond() if f.nullable else None
    if f.is_array:
        et = elem_cpp(f)
        body.append('{')
        body.append('  const int32_t n = r.ArrayLength(flex);')
        if f.nullable:
            body.append(f'  if (n < 0 && ({null_cond})) {{')
            body.append(f'    {f.name}.reset();')
            body.append('  } else if (n < 0) {')
            body.append(f'    r.Fail("null array {f.name}");')
            body.append('  } else {')
            body.append(f'    auto& a = {f.name}.emplace();')
        else:
            body.append('  if (n < 0) {')
            body.append(f'    r.Fail("null array {f.name}");')
            body.append('  } else {')
            body.append(f'    auto& a = {f.name};')
        body.append('    a.clear();')
        # A count is checked only against the bytes left (each element takes one at least): a
        # reservation that large could be many times the request, so it is capped.
        body.append('    a.reserve(std::min<size_t>(size_t(n), 64));')
        body.append('    for (int32_t i = 0; i < n && r.ok(); ++i) {')
        body.append(f'      {et} e{{}};')
        body += ['      ' + s for s in read_value(f, 'e', elem_only=True)]
        body.append('      a.push_back(std::move(e));')
        body.append('    }')
        body.append('  }')
        body.append('}')
    elif f.nullable and f.elem in ('string', 'bytes', 'records'):
        body.append('{')
        body += ['  ' + s for s in read_value(f, f'{f.name}')]
        body.append(f'  if (!{f.name} && !({null_cond})) r.Fail("null {f.name}");')
        body.append('}')
    elif f.nullable and f.struct:
        body.append(f'if (r.I8() < 0) {{ {f.name}.reset(); }} else {{ '
                    f'{f.name}.emplace().Decode(r, v, flex); }}')
    else:
        body += read_value(f, f.name)
    out.append(f'{pad}if ({cond}) {{')
    out += [pad + '  ' + s for s in body]
    out.append(f'{pad}}}')


def write_value(f, value, elem_only=False):
    t = f.elem
    if f.struct:
        return [f'{value}.Encode(w, v, flex);']
    if t in SCALARS:
        return [f'w.{SCALARS[t][1]}({value});']
    nullable = f.nullable and not elem_only
    if t == 'string':
        return [f'w.{"NullableString" if nullable else "String"}({value}, flex);']
    if t == 'bytes':
        return [f'w.{"NullableBytes" if nullable else "Bytes"}({value}, flex);']
    if t == 'records':
        return [f'w.{"NullableRecords" if nullable else "RecordsValue"}({value}, flex);']
    raise ValueError(t)


def encode_field(f, out, pad):
    cond = f.versions.cond() if f.versions else 'true'
    body = []
    if f.is_array:
        if f.nullable:
            body.append(f'if (!{f.name}) {{ w.ArrayLength(-1, flex); }} else {{')
            body.append(f'  w.ArrayLength(int32_t({f.name}->size()), flex);')
            body.append(f'  for (const auto& e : *{f.name}) {{')
        else:
            body.append('{')
            body.append(f'  w.ArrayLength(int32_t({f.name}.size()), flex);')
            body.append(f'  for (const auto& e : {f.name}) {{')
        body += ['    ' + s for s in write_value(f, 'e', elem_only=True)]
        body.append('  }')
        body.append('}')
    elif f.nullable and f.struct:
        body.append(f'if (!{f.name}) {{ w.I8(-1); }} else {{ w.I8(1); '
                    f'{f.name}->Encode(w, v, flex); }}')
    else:
        body += write_value(f, f.name)
    out.append(f'{pad}if ({cond}) {{')
    out += [pad + '  ' + s for s in body]
    out.append(f'{pad}}}')


def emit_struct_defs(s, out, qual, message=None):
    name = f'{qual}{s.name}'
    for f in s.fields:
        if f.struct:
            emit_struct_defs(f.struct, out, f'{name}::')
    tagged = sorted((f for f in s.fields if f.tag is not None), key=lambda f: f.tag)
    for f in tagged:
        if f.struct or f.is_array:
            sys.exit(f'{name}.{f.name}: tagged struct and array fields are not supported yet')
    plain = [f for f in s.fields if f.tag is None]
    # Decode.
    if message:
        out.append(f'void {name}::Decode(Reader& r, int16_t version) {{')
        out.append('  const int16_t v = version;')
        out.append('  const bool flex = IsFlexible(version);')
    else:
        out.append(f'void {name}::Decode(Reader& r, int16_t version, bool flex) {{')
        out.append('  const int16_t v = version;')
    out.append('  (void)v;')
    for f in plain:
        decode_field(f, out, '  ')
        out.append('  if (!r.ok()) return;')
    out.append('  if (flex) {')
    out.append('    const uint32_t tags = r.UVarint();')
    out.append('    for (uint32_t i = 0; i < tags && r.ok(); ++i) {')
    out.append('      const uint32_t tag = r.UVarint();')
    out.append('      const uint32_t size = r.UVarint();')
    out.append('      Reader field = r.Sub(size);')
    out.append('      if (!r.ok()) return;')
    out.append('      switch (tag) {')
    for f in tagged:
        out.append(f'        case {f.tag}: {{')
        out.append('          Reader& outer = r;')
        out.append('          {')
        out.append('            Reader& r = field;')
        sub = []
        decode_field(f, sub, '')
        out += ['            ' + s for s in sub]
        out.append('          }')
        out.append('          if (!field.ok()) { outer.Fail(field.error()); return; }')
        out.append('          break;')
        out.append('        }')
    out.append('        default:')
    out.append('          break;  // an unknown tagged field is skipped, as Kafka does')
    out.append('      }')
    out.append('    }')
    out.append('  }')
    out.append('}')
    out.append('')
    # Encode.
    if message:
        out.append(f'void {name}::Encode(Writer& w, int16_t version) const {{')
        out.append('  const int16_t v = version;')
        out.append('  const bool flex = IsFlexible(version);')
    else:
        out.append(f'void {name}::Encode(Writer& w, int16_t version, bool flex) const {{')
        out.append('  const int16_t v = version;')
    out.append('  (void)v;')
    for f in plain:
        encode_field(f, out, '  ')
    out.append('  if (flex) {')
    if not tagged:
        out.append('    w.UVarint(0);  // no tagged fields')
    else:
        out.append('    std::vector<std::pair<uint32_t, Writer>> tagged;')
        for f in tagged:
            default = f'{field_cpp(f)}{{}}' if f.default is None else f.default
            if f.elem == 'string' and f.default is not None:
                default = f'"{f.default}"'
            cond = f.versions.cond() if f.versions else 'true'
            out.append(f'    if (({cond}) && !({f.name} == {default})) {{')
            out.append('      Writer sub;')
            out.append('      {')
            out.append('        Writer& w = sub;')
            sub = []
            encode_field(f, sub, '')
            out += ['        ' + s for s in sub]
            out.append('      }')
            out.append(f'      tagged.emplace_back({f.tag}, std::move(sub));')
            out.append('    }')
        out.append('    w.UVarint(uint32_t(tagged.size()));')
        out.append('    for (const auto& [tag, sub] : tagged) {')
        out.append('      w.UVarint(tag);')
        out.append('      w.UVarint(uint32_t(sub.size()));')
        out.append('      w.Append(sub);')
        out.append('    }')
    out.append('  }')
    out.append('}')
    out.append('')


def main():
    out_dir, inputs = sys.argv[1], sys.argv[2:]
    messages = []
    for path in sorted(inputs):
        messages += parse(path)
    names = set()
    for m in messages:
        if m.name in names:
            sys.exit(f'{m.name} is described twice')
        names.add(m.name)
    h = ['// Generated by protocol/kafka/codegen.py from protocol/kafka/messages/*.def; do not edit.',
         '// docs/kafka.md describes the codec.',
         '#pragma once', '',
         '#include <cstddef>', '#include <cstdint>', '#include <optional>', '#include <string>',
         '#include <vector>', '', '#include "protocol/kafka/wire.h"', '',
         'namespace strata::protocol::kafka {', '']
    for m in messages:
        emit_struct_decl(m, h, 0, message=m)
        h.append('')
    h.append('// Every API whose request is described, with its key and versions.')
    h.append('struct DescribedApi {')
    h.append('  int16_t key;')
    h.append('  const char* name;')
    h.append('  int16_t min_version;')
    h.append('  int16_t max_version;')
    h.append('  int16_t first_flexible_version;  // -1: none')
    h.append('};')
    reqs = [m for m in messages if m.kind == 'request']
    h.append(f'inline constexpr DescribedApi kDescribedApis[] = {{')
    for m in sorted(reqs, key=lambda m: m.key):
        h.append(f'    {{{m.key}, "{m.name[:-len("Request")]}", {m.versions.lo}, '
                 f'{m.versions.hi}, {m.flexible if m.flexible is not None else -1}}},')
    h.append('};')
    h.append('')
    h.append('}  // namespace strata::protocol::kafka')
    c = ['// Generated by protocol/kafka/codegen.py from protocol/kafka/messages/*.def; do not edit.',
         '#include "protocol/kafka/kafka_messages.h"', '', '#include <algorithm>',
         '#include <utility>', '',
         'namespace strata::protocol::kafka {', '']
    for m in messages:
        emit_struct_defs(m, c, '', message=m)
    c.append('}  // namespace strata::protocol::kafka')
    os.makedirs(out_dir, exist_ok=True)
    for name, lines in (('kafka_messages.h', h), ('kafka_messages.cc', c)):
        text = '\n'.join(lines) + '\n'
        path = os.path.join(out_dir, name)
        if os.path.exists(path) and open(path).read() == text:
            continue
        with open(path, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
