// A node of the staging tree (vh5/staging.h), shared by staging.cc and
// staging_durable.cc.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "staging/staged_content.h"
#include "vh5/dataset.h"
#include "vh5/metadata.h"
#include "vh5/staging.h"

namespace vh5 {

struct Staging::Node {
  NodeKind kind = NodeKind::kGroup;
  std::map<std::string, std::unique_ptr<Node>> children;  // groups
  std::string origin;  // path in the base version; empty when new
  bool from_base = false;
  std::optional<Attributes> attrs;  // loaded from the base on first use

  // Datasets.
  std::shared_ptr<const Dataset> base_dataset;  // read from while not materialized
  std::optional<DatasetInfo> info;              // current metadata
  bool is_new = false;                          // created in this tree: all metadata may change
  bool auto_chunks = false;                     // chunks follow the shape until set
  // Byte offsets of the content name the same elements as in the base
  // dataset (false once a resize moved them).
  bool aligned_with_base = false;
  std::shared_ptr<StagedContent> content;  // the file view, once written
  std::vector<uint64_t> valid_shape;       // the shape at content's checkpoint

  // What the log holds of this node (durable staging): its attributes, its
  // dataset state, and whether `content` is a new object since.
  bool attrs_logged = false;
  bool dataset_logged = false;
  bool content_new = false;

  const ByteSource& source() const {
    return content ? static_cast<const ByteSource&>(*content) : *base_dataset;
  }
};

}  // namespace vh5
