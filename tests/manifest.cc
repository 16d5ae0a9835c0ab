#include "manifest.h"

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>

#include "test_util.h"

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

// A float part of repr(complex): json.dumps writes repr(float), and complex
// parts drop the ".0" of integral values ("0j", "(1+2j)").
std::string ComplexPart(std::string text) {
  if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0) text.resize(text.size() - 2);
  return text;
}

// repr(complex(real, imag)) from the JSON texts of its parts.
std::string ComplexRepr(const std::string& real, const std::string& imag) {
  std::string re = ComplexPart(real), im = ComplexPart(imag);
  if (re == "0") return im + "j";
  if (im[0] != '-') im = "+" + im;
  return "(" + re + im + "j)";
}

// repr(bytes) of printable ASCII; empty (unchecked) for anything else, whose
// spelling in the manifest is not defined.
std::string BytesRepr(const std::string& text) {
  for (char c : text)
    if (c < 0x20 || c > 0x7e) return "";
  char quote =
      text.find('\'') != std::string::npos && text.find('"') == std::string::npos ? '"' : '\'';
  std::string out = "b";
  out += quote;
  for (char c : text) {
    if (c == '\\' || c == quote) out += '\\';
    out += c;
  }
  return out + quote;
}

// Python's repr of a fill value as the manifest writes it: {"dtype", "value"}
// from json.dumps, or {"bytes": ...}; empty when there is none to check.
std::string FillRepr(const ptree* fill) {
  if (!fill) return "";
  if (const ptree* bytes = Child(*fill, "bytes")) return BytesRepr(bytes->data());
  const ptree* value = Child(*fill, "value");
  if (!value) return "";
  if (!value->empty()) {  // complex: [real, imag]
    std::vector<std::string> parts;
    for (const auto& [k, v] : *value) parts.push_back(v.data());
    return parts.size() == 2 ? ComplexRepr(parts[0], parts[1]) : "";
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

void ForEachFixture(
    const std::function<void(const std::filesystem::path& file, const ManifestFile&)>& check) {
  std::optional<std::filesystem::path> fixtures = SharedFixtures();
  BOOST_TEST_REQUIRE(fixtures.has_value());
  std::vector<ManifestFile> all = LoadAllManifests(*fixtures);
  // Both manifests: 12 current files and 7 legacy ones.
  BOOST_TEST(all.size() >= 19u);
  for (const ManifestFile& mf : all) {
    BOOST_TEST_CONTEXT("fixture " << mf.name) {
      Isolated([&] { check(*fixtures / mf.name, mf); });
    }
  }
}

namespace {

std::optional<double> Number(const std::string& text) {
  try {
    size_t used = 0;
    double value = std::stod(text, &used);
    if (used == text.size()) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace

bool TypedValueMatches(const std::string& text, const std::string& json_value) {
  std::optional<double> a = Number(text), b = Number(json_value);
  if (a && b) return *a == *b;
  if (json_value == "true") return text == "True";
  if (json_value == "false") return text == "False";
  return text == json_value;
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
