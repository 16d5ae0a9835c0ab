// Random staging operations applied to a real mount and to a plain in-memory
// model, committed, remounted and compared, round after round; mid-round the
// daemon is unmounted or killed, and the staged changes must come back.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "test_util.h"

using namespace vh5test;

namespace {

struct Model {
  std::map<std::string, std::string> files;  // path -> bytes
  std::set<std::string> dirs;                // every group path

  std::vector<std::string> Files() const {
    std::vector<std::string> out;
    for (const auto& [p, b] : files) out.push_back(p);
    return out;
  }
  std::vector<std::string> Dirs() const { return {dirs.begin(), dirs.end()}; }
};

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() % 7);  // few values: chunks repeat
  return out;
}

// What the mount shows under `root`, as a model.
Model Observe(const fs::path& root) {
  Model m;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    std::string rel = fs::relative(e.path(), root).string();
    if (e.is_directory())
      m.dirs.insert(rel);
    else
      m.files[rel] = ReadFile(e.path());
  }
  return m;
}

void Apply(std::mt19937_64& rng, const fs::path& staging, Model* model) {
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  auto parent_dir = [&]() {
    std::vector<std::string> dirs = model->Dirs();
    dirs.push_back("");
    return pick(dirs);
  };
  auto join = [](const std::string& dir, const std::string& name) {
    return dir.empty() ? name : dir + "/" + name;
  };
  uint64_t op = rng() % 10;
  switch (op >= 8 ? 0 : op) {  // creating files weighs triple
    case 0: {                  // a new file
      std::string path = join(parent_dir(), "f" + std::to_string(rng() % 1000));
      if (model->files.count(path) || model->dirs.count(path)) return;
      std::string bytes = RandomBytes(rng, rng() % 200000);
      WriteFile(staging / path, bytes);
      model->files[path] = bytes;
      return;
    }
    case 1:
    case 2: {  // overwrite inside, maybe past the end
      if (model->files.empty()) return;
      std::string path = pick(model->Files());
      std::string& bytes = model->files[path];
      size_t offset = bytes.empty() ? 0 : rng() % (bytes.size() + 1);
      std::string data = RandomBytes(rng, 1 + rng() % 70000);
      int fd = ::open((staging / path).c_str(), O_WRONLY);
      BOOST_REQUIRE(fd >= 0);
      BOOST_REQUIRE(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)) ==
                    static_cast<ssize_t>(data.size()));
      BOOST_REQUIRE(::close(fd) == 0);
      if (offset + data.size() > bytes.size()) bytes.resize(offset + data.size());
      bytes.replace(offset, data.size(), data);
      return;
    }
    case 3: {  // truncate, shorter or longer (new bytes are the fill value, 0)
      if (model->files.empty()) return;
      std::string path = pick(model->Files());
      size_t size = rng() % 150000;
      BOOST_REQUIRE(::truncate((staging / path).c_str(), static_cast<off_t>(size)) == 0);
      model->files[path].resize(size, '\0');
      return;
    }
    case 4: {  // mkdir
      std::string path = join(parent_dir(), "d" + std::to_string(rng() % 100));
      if (model->files.count(path) || model->dirs.count(path)) return;
      fs::create_directory(staging / path);
      model->dirs.insert(path);
      return;
    }
    case 5: {  // rm
      if (model->files.empty()) return;
      std::string path = pick(model->Files());
      fs::remove(staging / path);
      model->files.erase(path);
      return;
    }
    case 6: {  // mv a file, possibly over another
      if (model->files.empty()) return;
      std::string from = pick(model->Files());
      std::string to = join(parent_dir(), "m" + std::to_string(rng() % 50));
      if (model->dirs.count(to) || to == from) return;
      fs::rename(staging / from, staging / to);
      model->files[to] = model->files[from];
      model->files.erase(from);
      return;
    }
    case 7: {  // rmdir of an empty group
      for (const std::string& dir : model->Dirs()) {
        bool empty = true;
        for (const auto& [p, b] : model->files) empty = empty && p.rfind(dir + "/", 0) != 0;
        for (const std::string& d : model->dirs) empty = empty && d.rfind(dir + "/", 0) != 0;
        if (!empty) continue;
        fs::remove(staging / dir);
        model->dirs.erase(dir);
        return;
      }
      return;
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model)

BOOST_AUTO_TEST_CASE(random_staging_operations_match_a_model_across_commits_and_remounts) {
  TempDir dir;
  fs::path file = dir.path() / "model.h5";
  BOOST_TEST_REQUIRE(Run({Vh5Binary(), "init", file.string()}).exit_status == 0);
  std::mt19937_64 rng(20261124);
  Model model;
  std::vector<Model> committed;
  for (int round = 0; round < 4; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      auto mount = std::make_unique<Mount>(file);
      fs::path staging = mount->root() / "staging";
      // What the last commit holds is what staging starts from.
      Model start = Observe(staging);
      BOOST_TEST((start.files == model.files));
      BOOST_TEST((start.dirs == model.dirs));
      for (int op = 0; op < 30; ++op) Apply(rng, staging, &model);
      // Staged changes outlive the daemon: kill -9 in odd rounds, an unmount in even ones.
      if (round % 2) {
        BOOST_TEST_REQUIRE(::kill(mount->pid(), SIGKILL) == 0);
        while (mount->Ended().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      mount.reset();
      mount = std::make_unique<Mount>(file);
      staging = mount->root() / "staging";
      Model kept = Observe(staging);
      BOOST_TEST((kept.files == model.files));
      BOOST_TEST((kept.dirs == model.dirs));
      for (int op = 0; op < 30; ++op) Apply(rng, staging, &model);
      Model staged = Observe(staging);
      BOOST_TEST((staged.files == model.files));
      BOOST_TEST((staged.dirs == model.dirs));
      fs::rename(staging, mount->root() / "versions" / ("r" + std::to_string(round)));
      committed.push_back(model);
    }
  }
  // Every version, after a remount, is exactly what was committed.
  {
    Mount mount(file, {"-o", "ro"});
    size_t files = 0;
    for (size_t i = 0; i < committed.size(); ++i) {
      BOOST_TEST_CONTEXT("version r" << i) {
        Model seen = Observe(mount.root() / "versions" / ("r" + std::to_string(i)));
        BOOST_TEST((seen.files == committed[i].files));
        BOOST_TEST((seen.dirs == committed[i].dirs));
        files += seen.files.size();
      }
    }
    BOOST_TEST(files > 10u);  // the operations really made datasets
    VerifyClean(file);        // a read-only mount shares HDF5's lock with vh5 verify
  }
  // And every hash table row is the SHA-256 the Python library computes.
  CommandResult oracle = Run(
      {"/usr/bin/python3", std::string(VH5_SOURCE_DIR) + "/tests/h5py_oracle.py", file.string()});
  BOOST_TEST_REQUIRE(oracle.exit_status == 0, oracle.err);
  BOOST_TEST(oracle.out.find("\"bad_hash_rows\": 0") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
