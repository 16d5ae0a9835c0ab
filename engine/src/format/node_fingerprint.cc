#include "format/node_fingerprint.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "format/dataset_messages.h"
#include "format/datatype_message.h"
#include "format/global_heap.h"
#include "format/message_check.h"
#include "format/object_header.h"
#include "format/virtual_mappings.h"

namespace vh5 {

namespace {

// Global heap collections kept by a walk: the mapping lists of one version's
// datasets share a few.
constexpr size_t kCollectionsKept = 8;

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

void Field(std::string* fp, char tag, std::span<const uint8_t> bytes) {
  fp->push_back(tag);
  uint64_t size = bytes.size();
  fp->append(reinterpret_cast<const char*>(&size), sizeof size);
  fp->append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

void Field(std::string* fp, char tag, const std::string& text) {
  Field(fp, tag,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::string Digest(char kind, const std::string& facts) {
  XXH128_hash_t h = XXH3_128bits(facts.data(), facts.size());
  std::string out(1, kind);
  out.append(reinterpret_cast<const char*>(&h.high64), 8);
  out.append(reinterpret_cast<const char*>(&h.low64), 8);
  return out;
}

}  // namespace

struct NodeFingerprints::Node {
  bool group = false;
  ObjectHeader header;
  std::vector<SymbolLink> links;  // a group's hard links, by name
  std::optional<std::string> fingerprint;
};

NodeFingerprints::NodeFingerprints(const FileBytes& file, unsigned internal_k, unsigned leaf_k)
    : file_(file), internal_k_(internal_k), leaf_k_(leaf_k) {}

NodeFingerprints::~NodeFingerprints() = default;

void NodeFingerprints::Forget() { nodes_.clear(); }

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
  if (auto it = nodes_.find(address); it != nodes_.end()) return it->second.get();
  VH5_ASSIGN_OR_RETURN(ObjectHeader header, ObjectHeader::Read(file_, address));
  auto node = std::unique_ptr<Node>(new Node{false, std::move(header), {}, std::nullopt});
  MessageContext ctx{file_.addr_size(), file_.len_size()};
  bool type = false, space = false, layout = false;
  for (const HeaderMessage& m : node->header.messages()) {
    switch (m.type) {
      case kSymbolTableMessage: {
        uint64_t btree = 0, heap = 0;
        VH5_RETURN_IF_ERROR(CheckSymbolTableMessage(m.data, ctx, &btree, &heap));
        VH5_ASSIGN_OR_RETURN(std::vector<SymbolLink> links,
                             ReadSymbolTable(file_, btree, heap, internal_k_, leaf_k_));
        node->links.insert(node->links.end(), links.begin(), links.end());
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
  Node* out = node.get();
  nodes_[address] = std::move(node);
  return out;
}

Result<std::string> NodeFingerprints::Fingerprint(Node* node) {
  if (node->fingerprint) return *node->fingerprint;
  std::string facts;
  std::vector<std::string> attributes;
  for (const HeaderMessage& m : node->header.messages()) {
    if (m.type != kAttributeMessage) continue;
    VH5_ASSIGN_OR_RETURN(std::string text, AttributeText(m.data));
    attributes.push_back(std::move(text));
  }
  std::sort(attributes.begin(), attributes.end());
  for (const std::string& a : attributes) Field(&facts, 'a', a);
  if (node->group) {
    for (const SymbolLink& link : node->links) {
      VH5_ASSIGN_OR_RETURN(Node * child, Load(link.address));
      Field(&facts, child->group ? 'g' : 'd', link.name);
    }
    node->fingerprint = Digest('g', facts);
  } else {
    VH5_ASSIGN_OR_RETURN(std::string own, DatasetFacts(*node));
    facts += own;
    node->fingerprint = Digest('d', facts);
  }
  return *node->fingerprint;
}

Result<std::string> NodeFingerprints::DatasetFacts(const Node& node) {
  MessageContext ctx{file_.addr_size(), file_.len_size()};
  // One field per message, sorted: HDF5 may order them differently in two
  // headers of the same facts (H5Ocopy, an attribute added later).
  std::vector<std::string> fields;
  std::optional<std::span<const uint8_t>> fill;  // unset: none defined
  std::optional<uint32_t> element_size;
  bool vlen = false;
  for (const HeaderMessage& m : node.header.messages()) {
    if (Invisible(m.type) || m.type == kAttributeMessage) continue;
    std::string facts;
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
        std::string dims(space.null ? "n" : "s");
        for (uint64_t d : space.dims) dims.append(reinterpret_cast<const char*>(&d), sizeof d);
        Field(&facts, 's', dims);
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
        Field(&facts, 't', m.data);
        break;
      }
      case kLayoutMessage: {
        VH5_ASSIGN_OR_RETURN(Layout layout, DecodeLayout(m.data, ctx));
        if (layout.layout_class == LayoutClass::kCompact) {
          Field(&facts, 'c', layout.compact);  // the data is in the message
          break;
        }
        if (layout.layout_class != LayoutClass::kVirtual) {
          // Never written (the library's empty datasets): all fill value.
          // Data elsewhere would need reading to compare.
          if (layout.address != ctx.undefined_address())
            return Status::Unsupported("a dataset that is neither virtual nor empty");
          facts.push_back('e');
          break;
        }
        if (!layout.heap_defined) {
          facts.push_back('e');  // maps nothing: all fill value
          break;
        }
        VH5_ASSIGN_OR_RETURN(std::span<const uint8_t> block,
                             HeapObject(layout.heap_address, layout.heap_index));
        Field(&facts, 'm', block);
        break;
      }
      default:
        // The filters, and what else HDF5 may keep: as stored.
        facts.push_back('o');
        facts.append(reinterpret_cast<const char*>(&m.type), sizeof m.type);
        Field(&facts, 'b', m.data);
        break;
    }
    if (!facts.empty()) fields.push_back(std::move(facts));
  }
  std::string facts;
  // The fill value as readers get it: none defined, or no message at all,
  // reads as zeros. A variable-length type's is not compared (its bytes
  // would be heap references), as VersionedFile compares it through HDF5.
  if (!vlen) {
    if (!element_size) return Status::Unsupported("a dataset of a shared datatype");
    if (fill) {
      Field(&facts, 'f', *fill);
    } else {
      Field(&facts, 'f', std::vector<uint8_t>(*element_size, 0));
    }
  }
  std::sort(fields.begin(), fields.end());
  for (const std::string& f : fields) facts += f;
  return facts;
}

Result<std::string> NodeFingerprints::AttributeText(std::span<const uint8_t> message) {
  MessageContext ctx{file_.addr_size(), file_.len_size()};
  VH5_ASSIGN_OR_RETURN(vh5::AttributeFacts attr, CheckAttribute(message, ctx));
  if (attr.shared_type || !attr.facts) return Status::Unsupported("an attribute of a shared type");
  if (attr.facts->nested_vlen)
    return Status::Unsupported("an attribute with variable-length members");
  // Name, type and shape as stored; then the values.
  std::string text(reinterpret_cast<const char*>(message.data()),
                   static_cast<size_t>(attr.data.data() - message.data()));
  if (!attr.facts->vlen) {
    Field(&text, 'v', attr.data);
    return text;
  }
  VH5_ASSIGN_OR_RETURN(std::vector<VlenReference> refs,
                       VlenReferences(attr.data, attr.facts->size, file_.addr_size()));
  for (const VlenReference& ref : refs) {
    if (ref.length == 0 || ref.collection == 0) {
      Field(&text, 'z', std::span<const uint8_t>());
      continue;
    }
    VH5_ASSIGN_OR_RETURN(std::span<const uint8_t> bytes, HeapObject(ref.collection, ref.index));
    uint64_t want = uint64_t{ref.length} * attr.facts->vlen_base;
    if (want > bytes.size()) return Status::Corruption("an attribute value past its heap object");
    Field(&text, 'v', bytes.first(want));
  }
  return text;
}

Result<std::span<const uint8_t>> NodeFingerprints::HeapObject(uint64_t collection, uint32_t index) {
  auto it = std::find_if(collections_.begin(), collections_.end(),
                         [&](const Collection& c) { return c.address == collection; });
  if (it == collections_.end()) {
    VH5_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes,
                         ReadGlobalHeapCollectionBytes(file_, collection));
    VH5_ASSIGN_OR_RETURN(std::vector<std::span<const uint8_t>> objects, CollectionObjects(bytes));
    if (collections_.size() == kCollectionsKept) collections_.erase(collections_.begin());
    // The spans point into the vector's buffer, which moving keeps.
    collections_.push_back(Collection{collection, std::move(bytes), std::move(objects)});
    it = collections_.end() - 1;
  }
  if (index >= it->objects.size() || it->objects[index].data() == nullptr)
    return Status::Corruption("no object " + std::to_string(index) + " in the global heap");
  return it->objects[index];
}

}  // namespace vh5
