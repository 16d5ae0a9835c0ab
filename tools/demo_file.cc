#include "demo_file.h"

#include <cmath>
#include <cstring>

#include "vh5/writer.h"

namespace vh5tool {
namespace {

template <typename T>
std::string Bytes(const std::vector<T>& values) {
  std::string out(values.size() * sizeof(T), '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

vh5::NewDataset Prices(size_t n, double shift) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i)
    v[i] = 100 + 10 * std::sin(static_cast<double>(i) / 500.0) + shift * (i >= 50000 && i < 50100);
  vh5::NewDataset d;
  d.path = "prices";
  d.dtype = "<f8";
  d.shape = {n};
  d.chunks = {4096};
  d.data = Bytes(v);
  d.attrs = {{"units", "USD", ""}, {"scale", "0.5", "<f8"}};
  return d;
}

vh5::NewDataset Matrix() {
  std::vector<int32_t> v(300 * 40);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<int32_t>(i % 40 * 1000 + i / 40);
  vh5::NewDataset d;
  d.path = "matrix";
  d.dtype = "<i4";
  d.shape = {300, 40};
  d.chunks = {100, 16};
  d.data = Bytes(v);
  return d;
}

vh5::NewDataset Sensor(const std::string& name, const std::string& compression, float base) {
  std::vector<float> v(5000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = base + static_cast<float>(i % 24);
  vh5::NewDataset d;
  d.path = "sensors/" + name;
  d.dtype = "<f4";
  d.shape = {v.size()};
  d.chunks = {1000};
  d.compression = compression;
  d.fill_bytes = Bytes(std::vector<float>{-1.0f});
  d.data = Bytes(v);
  return d;
}

vh5::NewDataset Names(std::vector<std::string> names) {
  vh5::NewDataset d;
  d.path = "names";
  d.dtype = "vlen-str";
  d.shape = {names.size()};
  d.chunks = {4};
  d.strings = std::move(names);
  return d;
}

}  // namespace

vh5::Status WriteDemoFile(const std::string& path) {
  VH5_RETURN_IF_ERROR(vh5::CreateVersionedFile(path));
  vh5::NewGroup sensors{"sensors", {{"site", "north field", ""}, {"elevation_m", "212.5", "<f8"}}};

  vh5::NewVersion v1;
  v1.name = "v1";
  v1.timestamp = "2024-01-01 09:00:00.000000+0000";
  v1.groups = {sensors};
  v1.datasets = {Prices(100000, 0), Matrix(), Sensor("temperature", "gzip:4", 12.5f),
                 Names({"alpha", "beta", "gamma", "delta", "epsilon"})};
  VH5_RETURN_IF_ERROR(vh5::CommitVersion(path, v1));

  vh5::NewVersion v2 = v1;
  v2.name = "v2";
  v2.timestamp = "2024-02-01 09:00:00.000000+0000";
  v2.datasets = {Prices(100000, 7.25), Matrix(), Sensor("temperature", "gzip:4", 12.5f),
                 Sensor("humidity", "lzf", 40.0f),
                 Names({"alpha", "beta", "gamma", "delta", "epsilon"})};
  VH5_RETURN_IF_ERROR(vh5::CommitVersion(path, v2));

  vh5::NewVersion v3 = v2;
  v3.name = "v3";
  v3.timestamp = "2024-03-01 09:00:00.000000+0000";
  v3.datasets[0] = Prices(120000, 7.25);
  v3.datasets[4] = Names({"alpha", "beta", "gamma", "delta", "epsilon", "line\nbreak", "ζeta"});
  return vh5::CommitVersion(path, v3);
}

}  // namespace vh5tool
