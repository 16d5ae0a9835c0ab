// manifest.json of the shared fixtures: what every version must show.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace vh5test {

struct ManifestAttr {
  std::string name;
  bool typed = false;  // {"dtype": ..., "value": ...} rather than a plain string
  std::string dtype;   // typed only
  std::string value;   // the plain string, or the typed value's JSON text
};

struct ManifestDataset {
  std::string dtype;
  std::vector<uint64_t> shape;
  std::vector<uint64_t> chunks;
  uint64_t nbytes = 0;
  std::string sha256;
  std::vector<ManifestAttr> attrs;
  // The fill value as Python's repr() writes it ("0.0", "7", "False", "0j",
  // "b''"), or empty when the manifest gives none to check.
  std::string fill_repr;
};

struct ManifestVersion {
  std::string prev_version;
  std::string timestamp;
  std::map<std::string, std::vector<ManifestAttr>> groups;  // by path
  std::map<std::string, ManifestDataset> datasets;          // by path
};

struct ManifestFile {
  std::string name;  // file name beside manifest.json
  std::string current_version;
  std::map<std::string, ManifestVersion> versions;
};

std::vector<ManifestFile> LoadManifest(const std::filesystem::path& json);
// Every manifest under the shared fixtures dir (fixtures/ and fixtures/legacy/),
// each file's name made relative to `fixtures`.
std::vector<ManifestFile> LoadAllManifests(const std::filesystem::path& fixtures);

// Runs `check` on every fixture of the shared fixtures dir, each in its own
// context: a failed BOOST_TEST_REQUIRE or an exception ends the checks of that
// fixture only (and fails the test case), the others still run.
void ForEachFixture(
    const std::function<void(const std::filesystem::path& file, const ManifestFile&)>& check);

// Whether `text` (an attribute's Python-literal text) is the typed value
// `json_value` (its JSON text): numbers compare as doubles, JSON booleans as
// True/False, anything else as text.
bool TypedValueMatches(const std::string& text, const std::string& json_value);

// "1000,37"
std::string JoinDims(const std::vector<uint64_t>& dims);

}  // namespace vh5test
