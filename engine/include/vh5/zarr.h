// The Zarr v2 view of a version (SPEC "zarr/"): the JSON metadata files and
// the chunk keys. A dataset's chunks themselves come from Dataset::OpenCell.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vh5/metadata.h"

namespace vh5 {

// .zgroup of every group.
inline constexpr const char kZarrGroupJson[] = "{\n    \"zarr_format\": 2\n}\n";

// Whether Zarr decodes the dataset's stored chunks as HDF5 wrote them (no
// filter, or gzip and shuffle only): its chunk files are then the stored
// bytes; otherwise they are decoded (compressor null).
bool ZarrKeepsEncoding(const DatasetInfo& info);
// The deflate level of "gzip:N..." (0 when not gzip).
int ZarrZlibLevel(const DatasetInfo& info);
bool ZarrShuffled(const DatasetInfo& info);

// The chunk shape Zarr is told: info.chunks, every 0 made 1.
std::vector<uint64_t> ZarrChunks(const DatasetInfo& info);

// .zarray: shape, chunks, dtype, fill_value, order "C", filters,
// compressor, dimension_separator ".".
std::string ZarrArrayJson(const DatasetInfo& info);
// .zattrs: the attributes as one JSON object. A dataset's also name its
// dimensions (`dimensions`, as xarray requires: "_ARRAY_DIMENSIONS"),
// unless an attribute of that name exists.
std::string ZarrAttrsJson(const Attributes& attrs, const std::vector<std::string>& dimensions = {});
// Dimension names unique to a dataset: "<name>_dim_0", ...
std::vector<std::string> ZarrDimensionNames(std::string_view dataset_name, size_t rank);

// The key "i.j.k" of cell `cell` (C-order linear index over the chunk grid
// of `shape` in `chunks`), and back (nullopt for a name that is no key).
std::string ZarrChunkKey(uint64_t cell, const std::vector<uint64_t>& shape,
                         const std::vector<uint64_t>& chunks);
std::optional<uint64_t> ZarrCellOfKey(std::string_view key, const std::vector<uint64_t>& shape,
                                      const std::vector<uint64_t>& chunks);

// numcodecs' VLenUTF8 layout of `items`: their count, then each one's
// length and bytes, all lengths uint32 little-endian.
std::string ZarrVlenUtf8(const std::vector<std::string>& items);

}  // namespace vh5
