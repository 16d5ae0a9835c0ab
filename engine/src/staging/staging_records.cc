#include "staging/staging_records.h"

namespace vh5 {
namespace {

class Encoder {
 public:
  void U(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void B(bool v) { U(v ? 1 : 0); }
  void S(std::string_view s) {
    U(s.size());
    out_.append(s);
  }
  void Dims(const std::vector<uint64_t>& dims) {
    U(dims.size());
    for (uint64_t d : dims) U(d);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Every read checks what is left; the first failure sticks, so a chain of
// reads needs one check at the end (Finish).
class Decoder {
 public:
  explicit Decoder(std::string_view in) : in_(in) {}
  uint64_t U() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return Fail();
      uint8_t byte = static_cast<uint8_t>(in_[pos_++]);
      v |= uint64_t{byte & 0x7fu} << shift;
      if (!(byte & 0x80)) return v;
    }
    return Fail();
  }
  bool B() {
    uint64_t v = U();
    if (v > 1) Fail();
    return v == 1;
  }
  std::string S() {
    uint64_t n = U();
    if (failed_ || n > in_.size() - pos_) return Fail(), std::string();
    std::string s(in_.substr(pos_, static_cast<size_t>(n)));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  // A count of items of at least `min_bytes` each: never more than the bytes left allow.
  bool AtEnd() const { return failed_ || pos_ >= in_.size(); }
  uint64_t Count(size_t min_bytes = 1) {
    uint64_t n = U();
    if (n > (in_.size() - pos_) / min_bytes) return Fail();
    return n;
  }
  std::vector<uint64_t> Dims() {
    std::vector<uint64_t> dims(static_cast<size_t>(Count()));
    for (uint64_t& d : dims) d = U();
    return dims;
  }
  Status Finish(const char* what) {
    if (failed_ || pos_ != in_.size())
      return Status::Corruption(std::string("staging log: a malformed ") + what + " record");
    return Status::OK();
  }

 private:
  uint64_t Fail() {
    failed_ = true;
    pos_ = in_.size();
    return 0;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool failed_ = false;
};

}  // namespace

std::string Encode(const HeaderRecord& r) {
  Encoder e;
  e.U(HeaderRecord::kFormat);
  e.S(r.base);
  e.S(r.base_timestamp);
  e.B(r.explicit_tree);
  return e.Take();
}

Status Decode(std::string_view payload, HeaderRecord* r) {
  Decoder d(payload);
  // The format first: another format's header need not parse as this one's.
  uint64_t format = d.U();
  if (format != HeaderRecord::kFormat)
    return Status::Unsupported("staging log: format " + std::to_string(format) +
                               " (this vh5fs reads format " +
                               std::to_string(HeaderRecord::kFormat) + ")");
  r->base = d.S();
  r->base_timestamp = d.S();
  r->explicit_tree = d.B();
  return d.Finish("header");
}

std::string Encode(const PlaceRecord& r) {
  Encoder e;
  e.S(r.path);
  e.U(r.kind == NodeKind::kDataset ? 1 : 0);
  e.B(r.from_base);
  e.S(r.origin);
  return e.Take();
}

Status Decode(std::string_view payload, PlaceRecord* r) {
  Decoder d(payload);
  r->path = d.S();
  r->kind = d.B() ? NodeKind::kDataset : NodeKind::kGroup;
  r->from_base = d.B();
  r->origin = d.S();
  return d.Finish("place");
}

std::string Encode(const PathRecord& r) {
  Encoder e;
  e.S(r.from);
  e.S(r.to);
  return e.Take();
}

Status Decode(std::string_view payload, PathRecord* r) {
  Decoder d(payload);
  r->from = d.S();
  r->to = d.S();
  return d.Finish("path");
}

std::string Encode(const AttributesRecord& r) {
  Encoder e;
  e.S(r.path);
  e.U(r.attrs.size());
  for (const Attribute& a : r.attrs) {
    e.S(a.name);
    e.S(a.text);
    e.S(a.type);
  }
  return e.Take();
}

Status Decode(std::string_view payload, AttributesRecord* r) {
  Decoder d(payload);
  r->path = d.S();
  r->attrs.resize(static_cast<size_t>(d.Count(3)));
  for (Attribute& a : r->attrs) {
    a.name = d.S();
    a.text = d.S();
    a.type = d.S();
  }
  return d.Finish("attributes");
}

std::string Encode(const DatasetRecord& r) {
  Encoder e;
  e.S(r.path);
  const DatasetInfo& info = r.info;
  e.S(info.dtype.numpy);
  e.U(info.dtype.itemsize);
  e.B(info.dtype.is_vlen_string);
  e.Dims(info.shape);
  e.Dims(info.chunks);
  e.S(info.fill_bytes);
  e.S(info.fill_text);
  e.S(info.compression);
  e.B(r.is_new);
  e.B(r.auto_chunks);
  e.B(r.aligned_with_base);
  e.B(r.content.has_value());
  if (r.content) {
    const ContentRecord& c = *r.content;
    e.U(static_cast<uint64_t>(c.origin));
    e.B(c.compare_with_base);
    e.U(c.size);
    e.U(c.runs.size());
    for (const PageRun& run : c.runs) {
      e.U(run.first);
      e.U(run.count);
      e.U(run.state);
      e.U(run.step);
    }
  }
  e.U(r.explicit_bits);
  return e.Take();
}

Status Decode(std::string_view payload, DatasetRecord* r) {
  Decoder d(payload);
  r->path = d.S();
  DatasetInfo& info = r->info;
  info.dtype.numpy = d.S();
  info.dtype.itemsize = d.U();
  info.dtype.is_vlen_string = d.B();
  info.shape = d.Dims();
  info.chunks = d.Dims();
  info.fill_bytes = d.S();
  info.fill_text = d.S();
  info.compression = d.S();
  r->is_new = d.B();
  r->auto_chunks = d.B();
  r->aligned_with_base = d.B();
  r->content.reset();
  if (d.B()) {
    ContentRecord& c = r->content.emplace();
    uint64_t origin = d.U();
    if (origin > 2) return Status::Corruption("staging log: a content of unknown origin");
    c.origin = static_cast<ContentRecord::Origin>(origin);
    c.compare_with_base = d.B();
    c.size = d.U();
    c.runs.resize(static_cast<size_t>(d.Count(4)));
    for (PageRun& run : c.runs) {
      run.first = d.U();
      run.count = d.U();
      run.state = d.U();
      run.step = d.U();
    }
  }
  // Absent from logs written before metadata could be set in any order.
  r->explicit_bits = d.AtEnd() ? 0 : d.U();
  return d.Finish("dataset");
}

std::string Encode(const SettingsRecord& r) {
  Encoder e;
  e.S(r.timestamp);
  e.B(r.make_current);
  return e.Take();
}

Status Decode(std::string_view payload, SettingsRecord* r) {
  Decoder d(payload);
  r->timestamp = d.S();
  r->make_current = d.B();
  return d.Finish("settings");
}

std::string Encode(const CommittingRecord& r) {
  Encoder e;
  e.S(r.name);
  e.S(r.timestamp);
  return e.Take();
}

Status Decode(std::string_view payload, CommittingRecord* r) {
  Decoder d(payload);
  r->name = d.S();
  r->timestamp = d.S();
  return d.Finish("committing");
}

std::string Encode(const SessionRecord& r) {
  Encoder e;
  e.S(r.boot_id);
  return e.Take();
}

Status Decode(std::string_view payload, SessionRecord* r) {
  Decoder d(payload);
  r->boot_id = d.S();
  return d.Finish("session");
}

}  // namespace vh5
