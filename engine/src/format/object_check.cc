#include "format/object_check.h"

#include <string>
#include <vector>

#include "format/dense_storage_check.h"
#include "format/message_check.h"
#include "format/object_header.h"
#include "format/symbol_table_check.h"
#include "format/virtual_mappings.h"
#include "hdf5/h5_handle.h"
#include "vh5/mutex.h"

namespace vh5 {
namespace {

// Committed datatypes may themselves be described by shared messages.
constexpr int kMaxSharedDepth = 4;

// Checkers by the file number HDF5 gives each open file.
Mutex g_registry_mu;
std::map<unsigned long, std::weak_ptr<ObjectChecker>> g_registry GUARDED_BY(g_registry_mu);

Result<unsigned long> FileNumber(hid_t loc) {
  H5O_info_t info;
  if (H5Oget_info2(loc, &info, H5O_INFO_BASIC) < 0) return h5::Error("cannot identify the file");
  return info.fileno;
}

std::vector<std::string> Components(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    std::string part = path.substr(pos, slash == std::string::npos ? slash : slash - pos);
    if (!part.empty() && part != ".") out.push_back(part);
    if (slash == std::string::npos) break;
    pos = slash + 1;
  }
  return out;
}

}  // namespace

Result<std::shared_ptr<ObjectChecker>> ObjectChecker::Attach(hid_t file, int fd) {
  VH5_ASSIGN_OR_RETURN(FileBytes bytes, FileBytes::Of(file, fd));
  h5::Handle fcpl(H5Fget_create_plist(file));
  unsigned internal_k = 0, leaf_k = 0;
  if (!fcpl || H5Pget_sym_k(fcpl.get(), &internal_k, &leaf_k) < 0)
    return h5::Error("cannot read the file's B-tree sizes");
  auto checker = std::shared_ptr<ObjectChecker>(new ObjectChecker(bytes, internal_k, leaf_k));
  VH5_ASSIGN_OR_RETURN(unsigned long number, FileNumber(file));
  {
    MutexLock lock(&g_registry_mu);
    for (auto it = g_registry.begin(); it != g_registry.end();)
      it = it->second.expired() ? g_registry.erase(it) : std::next(it);
    g_registry[number] = checker;
  }
  // H5Fopen has read the root group's header; what it leads to is read later.
  H5O_info_t root;
  if (H5Oget_info_by_name2(file, "/", &root, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
    return h5::Error("cannot locate the root group");
  VH5_RETURN_IF_ERROR(checker->CheckObject(root.addr).WithContext("/"));
  return checker;
}

std::shared_ptr<ObjectChecker> CheckerFor(hid_t loc) {
  {
    MutexLock lock(&g_registry_mu);
    if (g_registry.empty()) return nullptr;
  }
  Result<unsigned long> number = FileNumber(loc);
  if (!number.ok()) return nullptr;
  MutexLock lock(&g_registry_mu);
  auto it = g_registry.find(*number);
  return it == g_registry.end() ? nullptr : it->second.lock();
}

Status GuardPath(hid_t loc, const std::string& path) {
  std::shared_ptr<ObjectChecker> checker = CheckerFor(loc);
  return checker ? checker->CheckPath(loc, path) : Status::OK();
}

bool GuardPathOrPushError(hid_t loc, const std::string& path) {
  Status s = GuardPath(loc, path);
  if (s.ok()) return true;
  H5Epush2(H5E_DEFAULT, __FILE__, __func__, __LINE__, H5E_ERR_CLS, H5E_OHDR, H5E_BADVALUE, "%s",
           s.ToString().c_str());
  return false;
}

Status ObjectChecker::CheckPath(hid_t loc, const std::string& path) {
  std::string prefix = !path.empty() && path[0] == '/' ? "/" : "";
  for (const std::string& part : Components(path)) {
    prefix += (prefix.empty() || prefix == "/" ? "" : "/") + part;
    // One lookup (no H5Lexists first): a version's info is read through
    // here once per version, in groups of 10,000 links.
    H5L_info_t link;
    if (H5Lget_info(loc, prefix.c_str(), &link, H5P_DEFAULT) < 0) {
      h5::TakeErrorStack();
      return Status::OK();  // the caller's own lookup says what is missing
    }
    if (link.type != H5L_TYPE_HARD)
      return Status::Unsupported(prefix + ": a soft or external link, which the format never has");
    VH5_RETURN_IF_ERROR(CheckObject(link.u.address).WithContext(prefix));
  }
  return Status::OK();
}

Status ObjectChecker::CheckObject(uint64_t address) { return Check(address, 0); }

std::optional<ObjectChecker::Kind> ObjectChecker::KindOf(const ObjectHeader& header) {
  bool type = false, space = false;
  for (const HeaderMessage& m : header.messages()) {
    if (m.type == kSymbolTableMessage || m.type == kLinkInfoMessage)
      return ObjectChecker::Kind::kGroup;
    type = type || m.type == kDatatypeMessage;
    space = space || m.type == kDataspaceMessage;
  }
  if (type && space) return ObjectChecker::Kind::kDataset;
  if (type) return ObjectChecker::Kind::kDatatype;
  return std::nullopt;
}

std::shared_ptr<ObjectChecker::Sound> ObjectChecker::SoundTable() {
  MutexLock lock(&mu_);
  return sound_;
}

Result<ObjectChecker::Kind> ObjectChecker::CheckedKind(uint64_t address) {
  VH5_RETURN_IF_ERROR(Check(address, 0));
  std::shared_ptr<Sound> sound = SoundTable();
  {
    MutexLock lock(&sound->mu);
    if (auto it = sound->objects.find(address); it != sound->objects.end() && it->second)
      return *it->second;
  }
  // Forgotten since it was checked, or never classified.
  VH5_ASSIGN_OR_RETURN(ObjectHeader header, ObjectHeader::Read(bytes_, address));
  std::optional<Kind> kind = KindOf(header);
  if (!kind) return Status::Corruption("an object that is no group, dataset or datatype");
  MutexLock lock(&sound->mu);
  if (auto it = sound->objects.find(address); it != sound->objects.end()) it->second = kind;
  return *kind;
}

void ObjectChecker::Inherit(ObjectChecker& older) {
  if (&older == this) return;
  std::shared_ptr<Sound> shared = older.SoundTable();
  std::shared_ptr<Sound> own = SoundTable();
  if (shared == own) return;
  {
    // What this checker found sound already joins the shared table.
    MutexLock from(&own->mu);
    MutexLock to(&shared->mu);
    shared->objects.merge(own->objects);
    shared->types.merge(own->types);
  }
  MutexLock lock(&mu_);
  sound_ = std::move(shared);
}

Status ObjectChecker::Check(uint64_t address, int depth) {
  std::shared_ptr<Sound> sound;
  {
    MutexLock lock(&mu_);
    if (auto it = bad_.find(address); it != bad_.end()) return it->second;
    sound = sound_;
  }
  {
    MutexLock lock(&sound->mu);
    if (sound->objects.count(address)) return Status::OK();
  }
  std::optional<Kind> kind;
  Status s = CheckUncached(address, depth, &kind);
  if (!s.ok()) {
    s = s.WithContext("object header at " + std::to_string(address));
    MutexLock lock(&mu_);
    if (bad_.size() >= kMostRemembered) bad_.clear();
    bad_.emplace(address, s);
    return s;
  }
  MutexLock lock(&sound->mu);
  // Bounded: walking 100 versions of 10,000 datasets would remember a
  // million headers; forgotten ones are only checked again.
  if (sound->objects.size() >= kMostRemembered) sound->objects.clear();
  sound->objects.emplace(address, kind);
  return s;
}

Result<std::optional<DatatypeFacts>> ObjectChecker::CommittedType(uint64_t address, int depth) {
  if (depth > kMaxSharedDepth) return Status::Corruption("shared messages nested too deeply");
  VH5_RETURN_IF_ERROR(Check(address, depth));
  std::shared_ptr<Sound> sound = SoundTable();
  MutexLock lock(&sound->mu);
  auto it = sound->types.find(address);
  if (it == sound->types.end())
    return Status::Corruption("a shared datatype that is not a datatype");
  return it->second;
}

Result<ObjectChecker::Kind> ObjectChecker::CheckedHeaderKind(uint64_t address) {
  {
    std::shared_ptr<Sound> sound = SoundTable();
    MutexLock lock(&sound->mu);
    if (auto it = sound->objects.find(address); it != sound->objects.end() && it->second)
      return *it->second;
  }
  {
    MutexLock lock(&mu_);
    if (auto it = bad_.find(address); it != bad_.end()) return it->second;
  }
  std::optional<Kind> kind;
  Status s = CheckUncached(address, 0, &kind, /*follow_links=*/false);
  if (!s.ok()) return s.WithContext("object header at " + std::to_string(address));
  if (!kind) return Status::Corruption("an object that is no group, dataset or datatype");
  return *kind;  // not remembered as sound: its links were not followed
}

Status ObjectChecker::CheckUncached(uint64_t address, int depth, std::optional<Kind>* kind,
                                    bool follow_links) {
  VH5_ASSIGN_OR_RETURN(ObjectHeader header, ObjectHeader::Read(bytes_, address));
  *kind = KindOf(header);
  MessageContext ctx{bytes_.addr_size(), bytes_.len_size()};

  // The type and shape first: other messages are checked against them.
  // nullopt where HDF5 reads them elsewhere (shared) or they are absent.
  std::optional<DatatypeFacts> type;
  std::optional<Dataspace> space;
  bool has_type = false;
  for (const HeaderMessage& m : header.messages()) {
    if (m.type == kDatatypeMessage && !has_type) {
      has_type = true;
      if (m.flags & kMessageShared) {
        VH5_ASSIGN_OR_RETURN(std::optional<uint64_t> at, CheckSharedMessage(m.data, ctx));
        if (at) {
          VH5_ASSIGN_OR_RETURN(type, CommittedType(*at, depth + 1));
        }
      } else {
        VH5_ASSIGN_OR_RETURN(DatatypeFacts facts, WalkDatatype(m.data));
        type = facts;
      }
    } else if (m.type == kDataspaceMessage && !space && !(m.flags & kMessageShared)) {
      VH5_ASSIGN_OR_RETURN(Dataspace facts, DecodeDataspace(m.data, ctx));
      space = facts;
    }
  }
  // A dataset (a type and a dataspace) needs its layout: HDF5 looks for it
  // after decoding the filter pipeline, and leaks that pipeline when it is
  // missing.
  auto has = [&](uint16_t type) {
    for (const HeaderMessage& m : header.messages())
      if (m.type == type) return true;
    return false;
  };
  if (has_type && has(kDataspaceMessage) && !has(kLayoutMessage))
    return Status::Corruption("a dataset without a layout message");
  for (const HeaderMessage& m : header.messages()) {
    if (m.flags & kMessageShared) {
      // What HDF5 reads in place of the message: a committed object's header.
      VH5_ASSIGN_OR_RETURN(std::optional<uint64_t> at, CheckSharedMessage(m.data, ctx));
      if (at) {
        if (depth >= kMaxSharedDepth)
          return Status::Corruption("shared messages nested too deeply");
        VH5_RETURN_IF_ERROR(Check(*at, depth + 1));
      }
      continue;
    }
    switch (m.type) {
      case kFillValueMessage:
      case kOldFillValueMessage: {
        VH5_RETURN_IF_ERROR(CheckFillValue(m.data, m.type == kOldFillValueMessage, type));
        break;
      }
      case kLayoutMessage: {
        VH5_ASSIGN_OR_RETURN(Layout layout, CheckLayout(m.data, ctx, space, type));
        if (layout.layout_class == LayoutClass::kVirtual && layout.heap_defined)
          VH5_RETURN_IF_ERROR(CheckVirtualMappings(layout.heap_address, layout.heap_index,
                                                   space ? space->dims.size() : 0));
        if (layout.layout_class == LayoutClass::kCompact && type && type->vlen)
          VH5_RETURN_IF_ERROR(CheckVlenData(layout.compact, type->vlen_base));
        break;
      }
      case kFilterPipelineMessage:
        VH5_RETURN_IF_ERROR(CheckFilterPipeline(m.data));
        break;
      case kExternalFilesMessage:
        // HDF5 would read the data from other files, named by this one.
        return Status::Unsupported("a dataset stored in external files");
      case kAttributeMessage: {
        Result<AttributeFacts> attr = CheckAttribute(m.data, ctx);
        if (!attr.ok()) return attr.status().WithContext("attribute");
        std::optional<DatatypeFacts> attr_type = attr->facts;
        if (attr->shared_type) {
          VH5_ASSIGN_OR_RETURN(std::optional<uint64_t> at, CheckSharedMessage(attr->type, ctx));
          if (!at) break;  // a type in the shared message heap: HDF5's own to read
          VH5_ASSIGN_OR_RETURN(attr_type, CommittedType(*at, depth + 1));
          if (!attr_type) return Status::Corruption("attribute: a shared type that is no datatype");
          uint64_t count = *attr->space.count;
          if (count != 0 && attr_type->size > attr->data.size() / count)
            return Status::Corruption("attribute: data past the end of its message");
          attr->data = attr->data.first(count * attr_type->size);
        }
        if (attr_type && attr_type->vlen) {
          Status s = CheckVlenData(attr->data, attr_type->vlen_base);
          if (!s.ok()) return s.WithContext("attribute");
        }
        break;
      }
      case kAttributeInfoMessage: {
        DenseStorage dense;  // attributes in a fractal heap: read by HDF5, headers checked
        VH5_RETURN_IF_ERROR(CheckAttributeInfo(m.data, ctx, &dense));
        VH5_RETURN_IF_ERROR(CheckDenseStorage(bytes_, dense));
        break;
      }
      case kLinkMessage: {
        std::optional<uint64_t> hard;
        VH5_RETURN_IF_ERROR(CheckLink(m.data, ctx, &hard));
        break;
      }
      case kLinkInfoMessage: {
        DenseStorage dense;  // links in a fractal heap: read by HDF5, headers checked
        VH5_RETURN_IF_ERROR(CheckLinkInfo(m.data, ctx, &dense));
        if (follow_links) VH5_RETURN_IF_ERROR(CheckDenseStorage(bytes_, dense));
        break;
      }
      case kGroupInfoMessage:
        VH5_RETURN_IF_ERROR(CheckGroupInfo(m.data));
        break;
      case kSymbolTableMessage: {
        uint64_t btree = 0, heap = 0;
        VH5_RETURN_IF_ERROR(CheckSymbolTableMessage(m.data, ctx, &btree, &heap));
        if (follow_links)
          VH5_RETURN_IF_ERROR(CheckSymbolTable(bytes_, btree, heap, internal_k_, leaf_k_));
        break;
      }
      case kRefCountMessage:
        if (m.data.size() < 5 || m.data[0] != 0)
          return Status::Corruption("bad reference count message");
        break;
      default:
        break;
    }
  }
  // A committed datatype: remember its type for attributes that share it.
  bool is_committed_type = has_type && !space;
  if (is_committed_type) {
    std::shared_ptr<Sound> sound = SoundTable();
    MutexLock lock(&sound->mu);
    sound->types[address] = type;
  }
  return Status::OK();
}

Status ObjectChecker::CheckVirtualMappings(uint64_t heap, uint32_t index, size_t rank) {
  VH5_RETURN_IF_ERROR(Collection(heap).status());
  VH5_ASSIGN_OR_RETURN(std::vector<uint8_t> block, ReadGlobalHeapObject(bytes_, heap, index));
  if (rank == 0) return Status::Corruption("a virtual dataset without a dataspace");
  return CheckMappingListEncoding(block, bytes_.len_size(), rank);
}

Result<std::shared_ptr<const GlobalHeapCollection>> ObjectChecker::Collection(uint64_t address) {
  {
    MutexLock lock(&mu_);
    if (auto it = collections_.find(address); it != collections_.end()) return it->second;
    if (auto it = bad_collections_.find(address); it != bad_collections_.end()) return it->second;
  }
  Result<GlobalHeapCollection> read = ReadGlobalHeapCollection(bytes_, address);
  MutexLock lock(&mu_);
  if (!read.ok()) {
    bad_collections_.emplace(address, read.status());
    return read.status();
  }
  auto shared = std::make_shared<const GlobalHeapCollection>(std::move(*read));
  if (collections_.size() >= kMostRemembered / 16) collections_.clear();
  collections_.emplace(address, shared);
  return shared;
}

Status ObjectChecker::CheckVlenAt(uint64_t address, uint64_t count, uint32_t base_size) {
  uint64_t element = 4 + bytes_.addr_size() + 4;
  if (count > bytes_.file_size() / element)
    return Status::Corruption(std::to_string(count) + " variable-length elements past the file");
  std::vector<uint8_t> data;
  VH5_RETURN_IF_ERROR(bytes_.Read(address, count * element, &data));
  return CheckVlenData(data, base_size);
}

Status ObjectChecker::CheckVlenData(std::span<const uint8_t> data, uint32_t base_size) {
  size_t addr = bytes_.addr_size();
  VH5_ASSIGN_OR_RETURN(std::vector<VlenReference> refs, VlenReferences(data, 4 + addr + 4, addr));
  for (const VlenReference& ref : refs) {
    if (ref.collection == 0) continue;  // a null sequence: HDF5 reads nothing
    VH5_ASSIGN_OR_RETURN(std::shared_ptr<const GlobalHeapCollection> collection,
                         Collection(ref.collection));
    auto object = collection->objects.find(static_cast<uint16_t>(ref.index));
    if (ref.index == 0 || ref.index > 0xffff || object == collection->objects.end())
      return Status::Corruption("a variable-length element naming object " +
                                std::to_string(ref.index) + " of a collection without it");
    // HDF5 allocates room for the sequence's elements as the reference
    // states them, then copies the whole object into it: HDF5 writes objects
    // of exactly that size, and any other is refused (a length of 2^32 - 1
    // over a small object would allocate gigabytes; a larger object would
    // overflow the room).
    if (object->second != uint64_t{ref.length} * base_size)
      return Status::Corruption("a variable-length element of " + std::to_string(ref.length) +
                                " items whose heap object holds " + std::to_string(object->second) +
                                " bytes");
  }
  return Status::OK();
}

Result<h5::Handle> OpenCheckedGroup(hid_t loc, const std::string& path) {
  VH5_RETURN_IF_ERROR(GuardPath(loc, path));
  if (!h5::LinkExists(loc, path)) return Status::NotFound("no group " + path);
  h5::Handle g(H5Gopen2(loc, path.c_str(), H5P_DEFAULT));
  if (!g) return h5::Error("cannot open group " + path);
  return g;
}

Result<h5::Handle> OpenCheckedDataset(hid_t loc, const std::string& path) {
  VH5_RETURN_IF_ERROR(GuardPath(loc, path));
  if (!h5::LinkExists(loc, path)) return Status::NotFound("no dataset " + path);
  h5::Handle d(H5Dopen2(loc, path.c_str(), H5P_DEFAULT));
  if (!d) return h5::Error("cannot open dataset " + path);
  return d;
}

}  // namespace vh5
