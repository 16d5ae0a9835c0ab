// The engine's guard in front of HDF5: before HDF5 1.10.8 decodes an
// object's header (to open it, list it, read its attributes), the engine
// reads that header with its own bounded readers and checks every message
// HDF5 would decode without bounds, and what they point at: global heap
// objects (str attributes, virtual mapping lists), committed datatypes,
// symbol tables. A file that would make HDF5 read out of bounds, loop or
// divide by zero is refused with Corruption instead.
//
// What stays HDF5's own: the superblock and the root group's header (read
// by H5Fopen), links and attributes kept in fractal heaps ("dense" storage
// of libver=latest files; only the heap's and B-trees' headers are checked,
// dense_storage_check.h), shared messages in the shared message heap,
// and chunk indexes other than the version-1 B-tree. HDF5 1.10.8 checks
// those less well; see fuzz/README.md.
//
// A checker is attached to a read-only file handle and found again from
// any identifier of that file (CheckerFor), so that the helpers of
// h5_handle.h guard every object they open without being told.
//
// Thread safety: every method may be called from any thread at once.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "format/datatype_message.h"
#include "format/file_bytes.h"
#include "format/global_heap.h"
#include "format/object_header.h"
#include "hdf5/h5_handle.h"
#include "vh5/mutex.h"
#include "vh5/status.h"

namespace vh5 {

class ObjectChecker {
 public:
  // A checker for `file`, opened read-only; `fd` reads the same bytes and
  // must stay open while the checker lives. Registered for CheckerFor.
  static Result<std::shared_ptr<ObjectChecker>> Attach(hid_t file, int fd);

  // Every object on the way from `loc` to `path` (absolute, or relative to
  // `loc`), in order; OK when a link on the way does not exist (the
  // caller's own lookup says NotFound). Links other than hard links are
  // refused: the format has none, and HDF5 would follow them unchecked.
  Status CheckPath(hid_t loc, const std::string& path);
  // The object whose header lies at `address`.
  Status CheckObject(uint64_t address);
  // What that object is, as HDF5 classes it (a group has a symbol table
  // or link info; a dataset a datatype and a dataspace; a named datatype
  // a datatype), checked first: a walk needs no lookup of it by name.
  enum class Kind { kGroup, kDataset, kDatatype };
  // The kind of the object `header` heads, unchecked; nullopt for none.
  static std::optional<Kind> KindOf(const ObjectHeader& header);
  Result<Kind> CheckedKind(uint64_t address);
  // The same checking only what opening the object and reading its
  // attributes decodes: a group's links (its symbol table) are not
  // followed. For one pass over 2,000 versions' metadata, where walking
  // every version's symbol table was half the cost. Not remembered as
  // sound, so a later listing of the group checks it whole.
  Result<Kind> CheckedHeaderKind(uint64_t address);
  // Variable-length elements as stored (see global_heap.h): each reference
  // names an object of its collection no larger than the sequence.
  Status CheckVlenData(std::span<const uint8_t> data, uint32_t base_size);
  // The same for `count` elements stored contiguously at file address `address`.
  Status CheckVlenAt(uint64_t address, uint64_t count, uint32_t base_size);

  // Shares `older`'s verdicts of objects found sound (and their committed
  // datatypes) from now on, both adding to them: for the same file after a
  // change only this process made, through HDF5, under the file's lock.
  // Whatever that change wrote, HDF5 (or the engine) wrote; everything else
  // was checked before. Both read the same bytes (the file as it is now).
  // Global heap collections and failures are not taken: a change may add
  // objects to the former and mend the latter.
  void Inherit(ObjectChecker& older);

  const FileBytes& bytes() const { return bytes_; }

 private:
  ObjectChecker(FileBytes bytes, unsigned internal_k, unsigned leaf_k)
      : bytes_(bytes), internal_k_(internal_k), leaf_k_(leaf_k) {}
  Status Check(uint64_t address, int depth);
  // `kind`: what the object is, when its messages say (even if unsound).
  // `follow_links`: also what a group's links lie in (its symbol table, or
  // its fractal heap's headers), which HDF5 reads to list or look up links.
  Status CheckUncached(uint64_t address, int depth, std::optional<Kind>* kind,
                       bool follow_links = true);
  // The datatype of the committed datatype at `address`.
  Result<std::optional<DatatypeFacts>> CommittedType(uint64_t address, int depth);
  Status CheckVirtualMappings(uint64_t heap, uint32_t index, size_t rank);
  Result<std::shared_ptr<const GlobalHeapCollection>> Collection(uint64_t address);

  const FileBytes bytes_;
  const unsigned internal_k_, leaf_k_;

  // Objects (and a sixteenth as many heap collections) remembered as
  // checked: memory bounded, whatever is read.
  static constexpr size_t kMostRemembered = 1 << 16;

  // The objects found sound, what they are (CheckedKind) and the committed
  // datatypes among them: shared with the checkers that inherit them
  // (Inherit), not copied (a copy per commit cost a fifth of a commit's
  // CPU after 2,000 commits).
  struct Sound {
    Mutex mu;
    std::map<uint64_t, std::optional<Kind>> objects GUARDED_BY(mu);
    std::map<uint64_t, std::optional<DatatypeFacts>> types GUARDED_BY(mu);
  };
  std::shared_ptr<Sound> SoundTable();

  Mutex mu_;
  std::shared_ptr<Sound> sound_ GUARDED_BY(mu_) = std::make_shared<Sound>();
  // Objects found unsound, this checker's own: a change may mend them.
  std::map<uint64_t, Status> bad_ GUARDED_BY(mu_);
  std::map<uint64_t, Status> bad_collections_ GUARDED_BY(mu_);
  std::map<uint64_t, std::shared_ptr<const GlobalHeapCollection>> collections_ GUARDED_BY(mu_);
};

// The checker attached to the file `loc` lives in, or nullptr.
std::shared_ptr<ObjectChecker> CheckerFor(hid_t loc);

// CheckPath through the checker of `loc`'s file; OK when it has none.
Status GuardPath(hid_t loc, const std::string& path);

// Opens an object by path, the objects on the way checked first by the
// checker of `loc`'s file, if any; NotFound (with the path) when it does
// not exist.
Result<h5::Handle> OpenCheckedGroup(hid_t loc, const std::string& path);
Result<h5::Handle> OpenCheckedDataset(hid_t loc, const std::string& path);

// The same guard in front of an HDF5 call that only returns a value: on
// failure the reason is pushed onto HDF5's error stack, where h5::Error
// finds it, and false is returned.
bool GuardPathOrPushError(hid_t loc, const std::string& path);

}  // namespace vh5
