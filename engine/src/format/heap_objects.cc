#include "format/heap_objects.h"

#include <algorithm>
#include <string>

#include "format/virtual_mappings.h"

namespace vh5 {

Result<std::span<const uint8_t>> GlobalHeapObjects::Get(uint64_t collection, uint32_t index) {
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
