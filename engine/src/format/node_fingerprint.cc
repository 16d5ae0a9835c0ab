#include "format/node_fingerprint.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "format/dataset_messages.h"
#include "format/datatype_message.h"
#include "format/global_heap.h"
#include "format/message_check.h"
#include "format/object_header.h"
#include "format/virtual_mappings.h"
#include "util/byte_decoder.h"

namespace vh5 {

namespace {

// Messages that say nothing a reader sees: padding, continuations, the
// object's own times, its link count, its comment.
bool Invisible(uint16_t type) {
  switch (type) {
    case 0x0000:                // NIL
    case kContinuationMessage:  //
    case 0x000D:                // comment
    case 0x000E:                // old modification time
    case 0x0012:                // modification time
    case kRefCountMessage:      //
    case kGroupInfoMessage:     // a group's storage hints
      return true;
    default:
      return false;
  }
}

using Digest = NodeFingerprints::Digest;

Digest HashOf(uint64_t seed, std::span<const uint8_t> bytes) {
  XXH128_hash_t h = XXH3_128bits_withSeed(bytes.data(), bytes.size(), seed);
  return {h.high64, h.low64};
}

Digest HashOf(char tag, std::span<const uint8_t> bytes) {
  return HashOf(uint64_t{static_cast<uint8_t>(tag)}, bytes);
}

std::span<const uint8_t> BytesOf(std::span<const Digest> digests) {
  return {reinterpret_cast<const uint8_t*>(digests.data()), digests.size_bytes()};
}

std::span<const uint8_t> BytesOf(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace

struct NodeFingerprints::Node {
  uint64_t address = 0;
  bool group = false;
  ObjectHeader header;
  std::vector<SymbolLink> links;  // a group's hard links, by name
  bool has_fingerprint = false;
  std::array<char, kFingerprintSize> fingerprint;
};

NodeFingerprints::NodeFingerprints(const FileBytes& file, unsigned internal_k, unsigned leaf_k)
    : file_(file), internal_k_(internal_k), leaf_k_(leaf_k), heap_(file) {}

NodeFingerprints::~NodeFingerprints() = default;

void NodeFingerprints::Forget() {
  used_ = 0;
  std::fill(slots_.begin(), slots_.end(), nullptr);
}

namespace {
size_t SlotOf(uint64_t address, size_t slots) {
  return static_cast<size_t>((address * 0x9E3779B97F4A7C15ull) >> 32) & (slots - 1);
}
}  // namespace

NodeFingerprints::Node* NodeFingerprints::Find(uint64_t address) const {
  if (slots_.empty()) return nullptr;
  for (size_t i = SlotOf(address, slots_.size());; i = (i + 1) & (slots_.size() - 1)) {
    if (slots_[i] == nullptr) return nullptr;
    if (slots_[i]->address == address) return slots_[i];
  }
}

void NodeFingerprints::Index(Node* node) {
  // At most half full, so that a probe meets an empty slot soon.
  if (used_ * 2 > slots_.size()) {
    slots_.assign(std::max<size_t>(256, slots_.size() * 2), nullptr);
    for (size_t k = 0; k < used_; ++k) {
      if (pool_[k].get() != node) Index(pool_[k].get());
    }
  }
  size_t i = SlotOf(node->address, slots_.size());
  while (slots_[i] != nullptr) i = (i + 1) & (slots_.size() - 1);
  slots_[i] = node;
}

Result<std::optional<std::string>> NodeFingerprints::Of(uint64_t group, const std::string& path) {
  VH5_ASSIGN_OR_RETURN(Node * node, Load(group));
  size_t pos = 0;
  while (pos < path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(pos, slash - pos);
    pos = slash + 1;
    if (part.empty()) continue;
    if (!node->group) return std::optional<std::string>();
    auto it =
        std::lower_bound(node->links.begin(), node->links.end(), part,
                         [](const SymbolLink& l, const std::string& n) { return l.name < n; });
    if (it == node->links.end() || it->name != part) return std::optional<std::string>();
    VH5_ASSIGN_OR_RETURN(node, Load(it->address));
  }
  VH5_ASSIGN_OR_RETURN(std::string fp, Fingerprint(node));
  return std::optional<std::string>(std::move(fp));
}

Result<NodeFingerprints::Node*> NodeFingerprints::Load(uint64_t address) {
  if (Node* known = Find(address)) return known;
  // The next node of the pool, taken (++used_) once it is read whole.
  if (used_ == pool_.size()) pool_.push_back(std::make_unique<Node>());
  Node* node = pool_[used_].get();
  node->address = address;
  node->group = false;
  node->links.clear();
  node->has_fingerprint = false;
  VH5_RETURN_IF_ERROR(node->header.ReadFrom(file_, address));
  MessageContext ctx{file_.addr_size(), file_.len_size()};
  bool type = false, space = false, layout = false;
  for (const HeaderMessage& m : node->header.messages()) {
    switch (m.type) {
      case kSymbolTableMessage: {
        uint64_t btree = 0, heap = 0;
        VH5_RETURN_IF_ERROR(CheckSymbolTableMessage(m.data, ctx, &btree, &heap));
        VH5_RETURN_IF_ERROR(
            ReadSymbolTable(file_, btree, heap, internal_k_, leaf_k_, &node->links));
        node->group = true;
        break;
      }
      case kLinkMessage: {
        std::optional<uint64_t> hard;
        std::string name;
        VH5_RETURN_IF_ERROR(CheckLink(m.data, ctx, &hard, &name));
        if (hard) node->links.push_back(SymbolLink{std::move(name), *hard});
        break;
      }
      case kLinkInfoMessage: {
        DenseStorage dense;
        VH5_RETURN_IF_ERROR(CheckLinkInfo(m.data, ctx, &dense));
        if (dense.dense) return Status::Unsupported("a group's links in a fractal heap");
        node->group = true;
        break;
      }
      case kDatatypeMessage:
        type = true;
        break;
      case kDataspaceMessage:
        space = true;
        break;
      case kLayoutMessage:
        layout = true;
        break;
      default:
        break;
    }
  }
  if (!node->group && !(type && space && layout))
    return Status::Unsupported("an object that is neither a group nor a dataset");
  std::sort(node->links.begin(), node->links.end(),
            [](const SymbolLink& a, const SymbolLink& b) { return a.name < b.name; });
  ++used_;
  Index(node);
  return node;
}

Result<std::string> NodeFingerprints::Fingerprint(Node* node) {
  auto text = [node] { return std::string(node->fingerprint.data(), node->fingerprint.size()); };
  if (node->has_fingerprint) return text();
  std::vector<Digest>& facts = facts_;
  facts.clear();
  for (const HeaderMessage& m : node->header.messages()) {
    if (m.type != kAttributeMessage) continue;
    VH5_ASSIGN_OR_RETURN(Digest attribute, AttributeDigest(m.data));
    facts.push_back(attribute);
  }
  if (node->group) {
    for (const SymbolLink& link : node->links) {
      VH5_ASSIGN_OR_RETURN(Node * child, Load(link.address));
      facts.push_back(HashOf(child->group ? 'g' : 'd', BytesOf(link.name)));
    }
  } else {
    VH5_RETURN_IF_ERROR(DatasetDigests(*node, &facts));
  }
  // In any order: HDF5 may order two headers of the same facts differently
  // (H5Ocopy, an attribute added later).
  std::sort(facts.begin(), facts.end());
  char kind = node->group ? 'g' : 'd';
  Digest all = HashOf(kind, BytesOf(facts));
  node->fingerprint[0] = kind;
  std::memcpy(node->fingerprint.data() + 1, all.data(), kFingerprintSize - 1);
  node->has_fingerprint = true;
  return text();
}

Status NodeFingerprints::DatasetDigests(const Node& node, std::vector<Digest>* facts) {
  MessageContext ctx{file_.addr_size(), file_.len_size()};
  std::optional<std::span<const uint8_t>> fill;  // unset: none defined
  std::optional<uint32_t> element_size;
  bool vlen = false;
  for (const HeaderMessage& m : node.header.messages()) {
    if (Invisible(m.type) || m.type == kAttributeMessage) continue;
    switch (m.type) {
      case kAttributeInfoMessage: {
        DenseStorage dense;
        VH5_RETURN_IF_ERROR(CheckAttributeInfo(m.data, ctx, &dense));
        if (dense.dense) return Status::Unsupported("attributes in a fractal heap");
        break;
      }
      case kDataspaceMessage: {
        // The shape only: the message's version and maximum shape say
        // nothing a reader of the version sees.
        VH5_ASSIGN_OR_RETURN(Dataspace space, DecodeDataspace(m.data, ctx));
        std::array<uint64_t, kMaxRank + 1> shape;  // the dimensions, then whether null
        size_t rank = std::min(space.dims.size(), kMaxRank);
        std::copy_n(space.dims.begin(), rank, shape.begin());
        shape[rank] = space.null ? 1 : 0;
        facts->push_back(
            HashOf('s', {reinterpret_cast<const uint8_t*>(shape.data()), (rank + 1) * 8}));
        break;
      }
      case kFillValueMessage:
      case kOldFillValueMessage: {
        // HDF5 reads the new form where both are (an old file's dataset
        // copied by H5Ocopy keeps only that one).
        if (m.type == kOldFillValueMessage && node.header.Find(kFillValueMessage)) break;
        VH5_ASSIGN_OR_RETURN(FillValue value,
                             DecodeFillValue(m.data, m.type == kOldFillValueMessage));
        fill = value.value;
        break;
      }
      case kDatatypeMessage: {
        if (!(m.flags & kMessageShared)) {
          VH5_ASSIGN_OR_RETURN(DatatypeFacts type, WalkDatatype(m.data));
          element_size = type.size;
          vlen = type.vlen || type.nested_vlen;
        }
        facts->push_back(HashOf('t', m.data));
        break;
      }
      case kLayoutMessage: {
        VH5_ASSIGN_OR_RETURN(Layout layout, DecodeLayout(m.data, ctx));
        if (layout.layout_class == LayoutClass::kCompact) {
          facts->push_back(HashOf('c', layout.compact));  // the data is in the message
          break;
        }
        bool virtual_layout = layout.layout_class == LayoutClass::kVirtual;
        // Never written (the library's empty datasets) or mapping nothing:
        // all fill value. Data elsewhere would need reading to compare.
        if (virtual_layout ? !layout.heap_defined : layout.address == ctx.undefined_address()) {
          facts->push_back(HashOf('e', {}));
          break;
        }
        if (!virtual_layout)
          return Status::Unsupported("a dataset that is neither virtual nor empty");
        VH5_ASSIGN_OR_RETURN(std::span<const uint8_t> block,
                             heap_.Get(layout.heap_address, layout.heap_index));
        facts->push_back(HashOf('m', block));
        break;
      }
      default: {
        // The filters, and what else HDF5 may keep: as stored.
        facts->push_back(HashOf(uint64_t{'o'} << 16 | m.type, m.data));
        break;
      }
    }
  }
  // The fill value as readers get it: none defined, or no message at all,
  // reads as zeros. A variable-length type's is not compared (its bytes
  // would be heap references), as VersionedFile compares it through HDF5.
  if (!vlen) {
    if (!element_size) return Status::Unsupported("a dataset of a shared datatype");
    if (fill) {
      facts->push_back(HashOf('f', *fill));
    } else {
      static constexpr std::array<uint8_t, 64> kZeros{};
      facts->push_back(*element_size <= kZeros.size()
                           ? HashOf('f', std::span(kZeros).first(*element_size))
                           : HashOf('f', std::vector<uint8_t>(*element_size, 0)));
    }
  }
  return Status::OK();
}

Result<const NodeFingerprints::AttributeShape*> NodeFingerprints::ShapeOf(
    std::span<const uint8_t> message) {
  // The bytes before the value: the fields, name, datatype and dataspace.
  VH5_ASSIGN_OR_RETURN(AttributeParts parts, SplitAttribute(message));
  std::span<const uint8_t> prefix = message.first(parts.value_at);
  uint64_t key = XXH3_64bits(prefix.data(), prefix.size());
  if (auto it = shapes_.find(key);
      it != shapes_.end() && std::ranges::equal(it->second.prefix, prefix))
    return &it->second;
  MessageContext ctx{file_.addr_size(), file_.len_size()};
  VH5_ASSIGN_OR_RETURN(vh5::AttributeFacts attr, CheckAttribute(message, ctx));
  if (attr.shared_type || !attr.facts) return Status::Unsupported("an attribute of a shared type");
  if (attr.facts->nested_vlen)
    return Status::Unsupported("an attribute with variable-length members");
  AttributeShape shape;
  shape.prefix.assign(prefix.begin(), prefix.end());
  shape.value_bytes = attr.data.size();
  shape.element_size = attr.facts->size;
  shape.vlen = attr.facts->vlen;
  shape.vlen_base = attr.facts->vlen_base;
  if (shapes_.size() >= kShapesKept) shapes_.clear();
  return &(shapes_[key] = std::move(shape));
}

Result<Digest> NodeFingerprints::AttributeDigest(std::span<const uint8_t> message) {
  VH5_ASSIGN_OR_RETURN(const AttributeShape* shape, ShapeOf(message));
  size_t prefix = shape->prefix.size();
  if (message.size() - prefix < shape->value_bytes)
    return Status::Corruption("an attribute's value past its message");
  std::span<const uint8_t> value = message.subspan(prefix, shape->value_bytes);
  // Name, type and shape as stored; then the values.
  if (!shape->vlen) return HashOf('a', message.first(prefix + value.size()));
  // Each element's string or sequence from the heap.
  size_t element = shape->element_size, addr = file_.addr_size();
  if (element != 4 + addr + 4 || value.size() % element != 0)
    return Status::Corruption("variable-length elements of " + std::to_string(element) + " bytes");
  std::vector<Digest>& parts = parts_;
  parts.assign(1, HashOf('a', message.first(prefix)));
  for (size_t at = 0; at < value.size(); at += element) {
    const uint8_t* ref = value.data() + at;
    uint32_t length = static_cast<uint32_t>(LoadLe(ref, 4));
    uint64_t collection = LoadLe(ref + 4, addr);
    uint32_t index = static_cast<uint32_t>(LoadLe(ref + 4 + addr, 4));
    if (length == 0 || collection == 0) {
      parts.push_back(HashOf('v', {}));
      continue;
    }
    VH5_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, heap_.Get(collection, index));
    uint64_t want = uint64_t{length} * shape->vlen_base;
    if (want > bytes.size()) return Status::Corruption("an attribute value past its heap object");
    parts.push_back(HashOf('v', bytes.first(want)));
  }
  return HashOf('A', BytesOf(parts));
}

}  // namespace vh5
