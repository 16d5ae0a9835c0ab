#include "manifest.h"

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include "py_literal.h"

namespace vh5test {
namespace {

using boost::property_tree::ptree;

const ptree* Child(const ptree& tree, const std::string& key) {
  for (const auto& [k, v] : tree)
    if (k == key) return &v;
  return nullptr;
}

std::string Value(const ptree& tree, const std::string& key) {
  const ptree* child = Child(tree, key);
  return child ? child->data() : std::string();
}

std::vector<uint64_t> Dims(const ptree* tree) {
  std::vector<uint64_t> out;
  if (tree)
    for (const auto& [k, v] : *tree) out.push_back(std::stoull(v.data()));
  return out;
}

std::vector<ManifestAttr> Attrs(const ptree* tree) {
  std::vector<ManifestAttr> out;
  if (!tree) return out;
  for (const auto& [name, v] : *tree) {
    ManifestAttr a;
    a.name = name;
    if (v.empty()) {
      a.value = v.data();
    } else {
      a.typed = true;
      a.dtype = Value(v, "dtype");
      a.value = Value(v, "value");
    }
    out.push_back(std::move(a));
  }
  return out;
}

// Python's repr of a JSON fill value written by json.dumps.
std::string FillRepr(const ptree* fill) {
  if (!fill) return "";
  const ptree* value = Child(*fill, "value");
  if (!value) return "";
  if (!value->empty()) {  // complex: [real, imag]
    std::vector<double> parts;
    for (const auto& [k, v] : *value) parts.push_back(std::stod(v.data()));
    if (parts.size() != 2) return "";
    return vh5::py::ComplexRepr(parts[0], parts[1]);
  }
  if (value->data() == "true") return "True";
  if (value->data() == "false") return "False";
  return value->data();
}

}  // namespace

std::vector<ManifestFile> LoadManifest(const std::filesystem::path& json) {
  ptree root;
  boost::property_tree::read_json(json.string(), root);
  std::vector<ManifestFile> files;
  for (const auto& [file_name, file] : root) {
    ManifestFile mf;
    mf.name = file_name;
    mf.current_version = Value(file, "current_version");
    if (const ptree* versions = Child(file, "versions")) {
      for (const auto& [version_name, version] : *versions) {
        ManifestVersion mv;
        mv.prev_version = Value(version, "prev_version");
        mv.timestamp = Value(version, "timestamp");
        if (const ptree* groups = Child(version, "groups"))
          for (const auto& [path, attrs] : *groups) mv.groups[path] = Attrs(&attrs);
        if (const ptree* datasets = Child(version, "datasets")) {
          for (const auto& [path, d] : *datasets) {
            ManifestDataset md;
            md.dtype = Value(d, "dtype");
            md.shape = Dims(Child(d, "shape"));
            md.chunks = Dims(Child(d, "chunks"));
            md.nbytes = std::stoull(Value(d, "nbytes"));
            md.sha256 = Value(d, "sha256");
            md.attrs = Attrs(Child(d, "attrs"));
            md.fill_repr = FillRepr(Child(d, "fillvalue"));
            mv.datasets[path] = std::move(md);
          }
        }
        mf.versions[version_name] = std::move(mv);
      }
    }
    files.push_back(std::move(mf));
  }
  return files;
}

std::vector<ManifestFile> LoadAllManifests(const std::filesystem::path& fixtures) {
  std::vector<ManifestFile> all = LoadManifest(fixtures / "manifest.json");
  if (std::filesystem::exists(fixtures / "legacy" / "manifest.json")) {
    for (ManifestFile& f : LoadManifest(fixtures / "legacy" / "manifest.json")) {
      f.name = "legacy/" + f.name;
      all.push_back(std::move(f));
    }
  }
  return all;
}

std::string JoinDims(const std::vector<uint64_t>& dims) {
  std::string out;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) out += ",";
    out += std::to_string(dims[i]);
  }
  return out;
}

}  // namespace vh5test
