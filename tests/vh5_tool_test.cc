// vh5, the offline tool: every subcommand run as a real process on copies of
// the shared fixtures and on files the tests make, checked against the
// fixtures' manifest and against h5py (tests/h5py_oracle.py); verify on
// files damaged on purpose (tests/damage_file.py); every subcommand beside
// h5py readers and writers of the same file (waiting for their locks).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/property_tree/json_parser.hpp>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "manifest.h"
#include "test_util.h"
#include "util/fd.h"
#include "vh5/writer.h"

using namespace vh5test;
namespace pt = boost::property_tree;

namespace {

CommandResult Vh5(std::vector<std::string> args) {
  args.insert(args.begin(), Vh5Binary());
  return Run(args);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

// Exit status 1, nothing on stdout, exactly one line on stderr that names
// the subcommand and says `needle`.
void ExpectOneLineError(const CommandResult& r, const std::string& command,
                        const std::string& needle) {
  BOOST_TEST(r.exit_status == 1, command << ": exit status " << r.exit_status << " " << r.err);
  BOOST_TEST(r.out.empty(), command << ": stdout " << r.out);
  BOOST_TEST(Lines(r.err).size() == 1u, command << ": stderr " << r.err);
  BOOST_TEST(r.err.rfind("vh5 " + command + ": ", 0) == 0, r.err);
  BOOST_TEST(Contains(r.err, needle), command << ": '" << r.err << "' lacks '" << needle << "'");
}

fs::path CopyOf(const fs::path& from, const fs::path& dir) {
  fs::path to = dir / from.filename();
  fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  fs::permissions(to, fs::perms::owner_read | fs::perms::owner_write);
  return to;
}

pt::ptree Json(const std::string& text) {
  std::istringstream in(text);
  pt::ptree tree;
  pt::read_json(in, tree);
  return tree;
}

void Damage(const fs::path& file, const std::vector<std::string>& how) {
  std::vector<std::string> argv = {
      "/usr/bin/python3", std::string(VH5_SOURCE_DIR) + "/tests/damage_file.py", file.string()};
  argv.insert(argv.end(), how.begin(), how.end());
  CommandResult r = Run(argv);
  BOOST_TEST_REQUIRE(r.exit_status == 0, "damage_file.py: " << r.err);
}

// Every version of a fixture, except that a long history is sampled.
std::vector<std::string> SomeVersions(const ManifestFile& m) {
  std::vector<std::string> out;
  size_t i = 0, stride = m.versions.size() > 20 ? m.versions.size() / 10 : 1;
  for (const auto& [name, v] : m.versions)
    if (i++ % stride == 0) out.push_back(name);
  return out;
}

// The nearest ancestor of `name` (itself included) not in `deleted`.
std::string Surviving(const ManifestFile& m, std::string name,
                      const std::set<std::string>& deleted) {
  while (deleted.count(name)) name = m.versions.at(name).prev_version;
  return name;
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

template <typename T>
std::string Bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

vh5::NewDataset Dataset(const std::string& path, const std::string& dtype,
                        std::vector<uint64_t> shape, std::vector<uint64_t> chunks,
                        std::string data) {
  vh5::NewDataset d;
  d.path = path;
  d.dtype = dtype;
  d.shape = std::move(shape);
  d.chunks = std::move(chunks);
  d.data = std::move(data);
  return d;
}

uint64_t NumberBefore(const std::string& text, const std::string& word) {
  size_t at = text.find(word);
  BOOST_TEST_REQUIRE(at != std::string::npos, "no '" << word << "' in " << text);
  size_t begin = text.rfind(' ', at - 2) + 1;
  return std::stoull(text.substr(begin, at - 1 - begin));
}

// Seconds since it was made.
class Seconds {
 public:
  double operator()() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// A python3 process with `file` open in h5py (mode "r" or "r+") for
// `seconds`, then closed; made once the file is open. Killed and reaped at
// the end unless it ended before.
class H5pyHolder {
 public:
  H5pyHolder(const fs::path& file, const std::string& mode, double seconds) {
    int fds[2];
    BOOST_TEST_REQUIRE(::pipe(fds) == 0);
    pid_ = ::fork();
    BOOST_TEST_REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      const char* script =
          "import sys, time, h5py\n"
          "f = h5py.File(sys.argv[1], sys.argv[2])\n"
          "print('open', flush=True)\n"
          "time.sleep(float(sys.argv[3]))\n"
          "f.close()\n";
      std::string secs = std::to_string(seconds);
      ::execl("/usr/bin/python3", "python3", "-c", script, file.c_str(), mode.c_str(), secs.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    // Kept open while it runs: it may write more.
    out_ = vh5::Fd(fds[0]);
    std::string ready;
    char c = 0;
    while (ready.size() < 5 && ::read(out_.get(), &c, 1) == 1) ready += c;
    BOOST_TEST_REQUIRE(ready == "open\n", "h5py did not open " << file);
  }
  ~H5pyHolder() { Stop(); }
  H5pyHolder(const H5pyHolder&) = delete;
  H5pyHolder& operator=(const H5pyHolder&) = delete;
  pid_t pid() const { return pid_; }
  // Its exit status once it ended by itself.
  int Wait() {
    int status = 0;
    if (pid_ <= 0 || ::waitpid(pid_, &status, 0) != pid_) return -1;
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  vh5::Fd out_;
};

const char* const kSubcommands[] = {"init",        "log",    "ls",     "cat",   "diff",
                                    "set-current", "delete", "repack", "verify"};

}  // namespace

BOOST_AUTO_TEST_SUITE(vh5_tool)

BOOST_AUTO_TEST_CASE(help_names_every_subcommand_and_each_has_its_own) {
  CommandResult all = Vh5({"--help"});
  BOOST_TEST(all.exit_status == 0);
  for (const char* name : kSubcommands) {
    BOOST_TEST(Contains(all.out, std::string("vh5 ") + name), name);
    CommandResult one = Vh5({name, "--help"});
    BOOST_TEST(one.exit_status == 0, name);
    BOOST_TEST(one.out.rfind(std::string("usage: vh5 ") + name, 0) == 0, one.out);
    BOOST_TEST(one.err.empty());
  }
  CommandResult unknown = Vh5({"frobnicate"});
  BOOST_TEST(unknown.exit_status == 1);
  BOOST_TEST(Lines(unknown.err).size() == 1u);
}

BOOST_AUTO_TEST_CASE(errors_are_one_line_with_exit_status_1_and_write_nothing) {
  TempDir dir;
  fs::path file = dir.path() / "demo.h5", plain = dir.path() / "plain.h5",
           text = dir.path() / "text.h5", missing = dir.path() / "missing.h5";
  BOOST_TEST_REQUIRE(Vh5({"demo", file.string()}).exit_status == 0);
  WritePlainHdf5(plain, "/data");
  WriteFile(text, "not hdf5 at all\n");
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  for (const auto& [bad, needle] :
       std::vector<std::pair<fs::path, std::string>>{{missing, "no such file"},
                                                     {plain, "without versioned data"},
                                                     {text, "not an HDF5 file"}}) {
    FileState before = FileState::Of(bad);
    std::string f = bad.string();
    for (const Case& c : std::vector<Case>{{{"log", f}, needle},
                                           {{"ls", f}, needle},
                                           {{"cat", f, "v1:prices"}, needle},
                                           {{"diff", f, "v1", "v2"}, needle},
                                           {{"set-current", f, "v1"}, needle},
                                           {{"delete", f, "v1"}, needle},
                                           {{"repack", f}, needle},
                                           {{"verify", f}, needle}})
      ExpectOneLineError(Vh5(c.args), c.args[0], c.needle);
    CheckUnchanged(bad, before);
  }
  FileState before = FileState::Of(file);
  std::string f = file.string();
  for (const Case& c :
       std::vector<Case>{{{"ls", f, "nope"}, "no version nope"},
                         {{"ls", f, "nope:prices"}, "no version nope"},
                         {{"cat", f, "nope:prices"}, "no version nope"},
                         {{"diff", f, "v1", "nope"}, "no version nope"},
                         {{"diff", f, "nope", "v1"}, "no version nope"},
                         {{"set-current", f, "nope"}, "no version nope"},
                         {{"delete", f, "v1", "nope"}, "no version nope"},
                         {{"delete", f, "__first_version__"}, "cannot delete __first_version__"},
                         {{"ls", f, "v1:nope"}, "/nope"},
                         {{"ls", f, "v1:prices/deeper"}, "/prices/deeper"},
                         {{"cat", f, "v1:nope"}, "/nope"},
                         {{"cat", f, "v1:sensors"}, "/sensors"},
                         {{"cat", f, "v1"}, "expected VERSION:PATH"},
                         {{"cat", f}, "usage: vh5 cat"},
                         {{"log"}, "usage: vh5 log"},
                         {{"delete", f}, "usage: vh5 delete"},
                         {{"ls", f, "v1", "v2"}, "usage: vh5 ls"},
                         {{"diff", f, "v1"}, "usage: vh5 diff"},
                         {{"ls", f, "--bogus"}, "unknown option --bogus"},
                         {{"init", f}, "already exists"}})
    ExpectOneLineError(Vh5(c.args), c.args[0], c.needle);
  CheckUnchanged(file, before);
}

BOOST_AUTO_TEST_CASE(init_makes_an_empty_file_that_verify_and_log_accept) {
  TempDir dir;
  fs::path file = dir.path() / "new.h5";
  CommandResult made = Vh5({"init", file.string()});
  BOOST_TEST_REQUIRE(made.exit_status == 0, made.err);
  pt::ptree oracle = H5pyOracle(file);
  BOOST_TEST(oracle.get<std::string>("current_version") == "__first_version__");
  BOOST_TEST(oracle.get<int>("data_version") == 4);
  CommandResult log = Vh5({"log", file.string()});
  BOOST_TEST(log.exit_status == 0);
  BOOST_TEST(log.out.empty());
  pt::ptree json = Json(Vh5({"log", file.string(), "--json"}).out);
  BOOST_TEST(json.get_child("versions").empty());
  CommandResult verify = Vh5({"verify", file.string()});
  BOOST_TEST(verify.exit_status == 0, verify.out);
  BOOST_TEST(Contains(verify.out, "ok: 0 versions"), verify.out);
}

BOOST_AUTO_TEST_CASE(verify_passes_on_every_fixture,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  ForEachFixture([](const fs::path& file, const ManifestFile& m) {
    CommandResult r = Vh5({"verify", file.string()});
    BOOST_TEST(r.exit_status == 0, m.name << ": " << r.out << r.err);
    BOOST_TEST(Lines(r.out).size() == 1u);
    BOOST_TEST(Contains(r.out, "ok: " + std::to_string(m.versions.size()) + " versions"), r.out);
    BOOST_TEST(r.err.empty(), "no progress off a terminal: " << r.err);
  });
}

BOOST_AUTO_TEST_CASE(log_follows_the_current_chain_then_the_other_branches,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  ForEachFixture([](const fs::path& file, const ManifestFile& m) {
    CommandResult r = Vh5({"log", file.string(), "--json"});
    BOOST_TEST_REQUIRE(r.exit_status == 0, r.err);
    pt::ptree json = Json(r.out);
    std::vector<std::string> order;
    std::set<std::string> seen;
    for (const auto& [key, v] : json.get_child("versions")) {
      std::string name = v.get<std::string>("name");
      order.push_back(name);
      BOOST_TEST(seen.insert(name).second, m.name << ": " << name << " listed twice");
      BOOST_TEST_REQUIRE(m.versions.count(name), m.name << ": " << name);
      const ManifestVersion& want = m.versions.at(name);
      BOOST_TEST(v.get<std::string>("prev_version") == want.prev_version);
      BOOST_TEST(v.get<std::string>("timestamp") == want.timestamp);
      BOOST_TEST(v.get<bool>("current") == (name == m.current_version), m.name << ": " << name);
    }
    BOOST_TEST(seen.size() == m.versions.size(), m.name);
    // Branch 0 is the current version's chain, newest first.
    std::vector<std::string> chain;
    for (std::string v = m.current_version; m.versions.count(v); v = m.versions.at(v).prev_version)
      chain.push_back(v);
    BOOST_TEST_REQUIRE(order.size() >= chain.size());
    BOOST_TEST((std::vector<std::string>(order.begin(), order.begin() + chain.size()) == chain),
               m.name);
    std::vector<std::string> lines = Lines(Vh5({"log", file.string()}).out);
    if (!chain.empty()) BOOST_TEST(lines.at(0).rfind("* " + chain[0] + " ", 0) == 0, lines.at(0));
  });
  auto fixtures = SharedFixtures();
  CommandResult branches = Vh5({"log", (*fixtures / "branches.h5").string()});
  std::vector<std::string> names;
  for (const std::string& line : Lines(branches.out))
    if (!line.empty()) names.push_back(line.substr(2, line.find("  2024") - 2));
  for (std::string& n : names) n.erase(n.find_last_not_of(' ') + 1);
  BOOST_TEST((names == std::vector<std::string>{"right", "base", "ünïcode-ψ", "side note", "left"}),
             branches.out);
  BOOST_TEST(std::count(branches.out.begin(), branches.out.end(), '*') == 1);
  BOOST_TEST(Contains(branches.out, "\n\n"), "a blank line between branches");
}

BOOST_AUTO_TEST_CASE(ls_shows_every_group_and_dataset_with_dtype_shape_chunks_size,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  ForEachFixture([](const fs::path& file, const ManifestFile& m) {
    for (const std::string& version : SomeVersions(m)) {
      const ManifestVersion& v = m.versions.at(version);
      CommandResult r = Vh5({"ls", file.string(), version, "-l", "-r"});
      BOOST_TEST_REQUIRE(r.exit_status == 0, r.err);
      std::map<std::string, std::vector<std::string>> rows;
      for (const std::string& line : Lines(r.out)) {
        std::istringstream in(line);
        std::vector<std::string> words;
        for (std::string w; in >> w;) words.push_back(w);
        BOOST_TEST_REQUIRE(words.size() >= 5u, line);
        // A compound dtype holds spaces: the last four columns are fixed.
        std::vector<std::string> tail(words.end() - 4, words.end());
        rows[tail[3]] = tail;
      }
      size_t datasets = 0;
      for (const auto& [path, ds] : v.datasets) {
        ++datasets;
        BOOST_TEST_REQUIRE(rows.count(path), m.name << " " << version << ": no " << path);
        const std::vector<std::string>& row = rows[path];
        BOOST_TEST(row[0] == JoinDims(ds.shape), path);
        BOOST_TEST(row[1] == JoinDims(ds.chunks), path);
        BOOST_TEST(row[2] == std::to_string(ds.nbytes), path);
        BOOST_TEST(Contains(r.out, ds.dtype + " "), path << " " << ds.dtype);
      }
      for (const auto& [path, attrs] : v.groups)
        if (!path.empty()) BOOST_TEST(rows.count(path + "/"), m.name << ": group " << path);
      BOOST_TEST(rows.size() >= datasets);
    }
  });
  auto fixtures = SharedFixtures();
  std::string groups = (*fixtures / "groups.h5").string();
  CommandResult top = Vh5({"ls", groups, "v1"});
  BOOST_TEST(Contains(top.out, "a/\n"), top.out);
  BOOST_TEST(!Contains(top.out, "a/x"), "not recursive without -r: " << top.out);
  CommandResult one = Vh5({"ls", groups, "v1:a/x", "-l"});
  BOOST_TEST(Lines(one.out).size() == 1u, one.out);
  BOOST_TEST(Contains(one.out, " x\n"), one.out);
  CommandResult current = Vh5({"ls", groups, ":a"});
  BOOST_TEST(current.exit_status == 0, current.err);
}

BOOST_AUTO_TEST_CASE(cat_writes_the_bytes_the_manifest_hashes,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  ForEachFixture([](const fs::path& file, const ManifestFile& m) {
    for (const std::string& version : SomeVersions(m)) {
      for (const auto& [path, ds] : m.versions.at(version).datasets) {
        CommandResult r = Vh5({"cat", file.string(), version + ":" + path});
        BOOST_TEST_REQUIRE(r.exit_status == 0, r.err);
        BOOST_TEST(r.out.size() == ds.nbytes, m.name << " " << version << ":" << path);
        BOOST_TEST(Sha256Hex(r.out) == ds.sha256, m.name << " " << version << ":" << path);
      }
    }
  });
}

BOOST_AUTO_TEST_CASE(diff_reports_changes_and_counts_chunks_from_the_chunk_maps) {
  TempDir dir;
  fs::path file = dir.path() / "d.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  std::vector<int32_t> values(1200);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<int32_t>(i);
  vh5::NewVersion v1;
  v1.name = "v1";
  v1.groups = {{"g", {{"a", "1", ""}}}};
  v1.datasets.push_back(
      Dataset("data", "<i4", {1000}, {100},
              Bytes(std::vector<int32_t>(values.begin(), values.begin() + 1000))));
  v1.datasets.push_back(Dataset("gone", "<f8", {10}, {5}, std::string(80, '\1')));
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v1).ok());
  vh5::NewVersion v2;
  v2.name = "v2";
  v2.groups = {{"g", {{"a", "2", ""}, {"b", "x", ""}}}};
  values[250] = -1;  // one chunk changes, and two chunks are added
  v2.datasets.push_back(Dataset("data", "<i4", {1200}, {100}, Bytes(values)));
  v2.datasets.push_back(Dataset("new", "|u1", {4}, {4}, "abcd"));
  BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), v2).ok());

  CommandResult text = Vh5({"diff", file.string(), "v1", "v2"});
  BOOST_TEST_REQUIRE(text.exit_status == 0, text.err);
  BOOST_TEST((Lines(text.out) ==
              std::vector<std::string>{
                  "M dataset data: shape 1000 -> 1200; 3 of 12 chunks differ",
                  "M group   g: attributes added: b; attributes changed: a",
                  "D dataset gone",
                  "A dataset new",
              }),
             text.out);
  CommandResult back = Vh5({"diff", file.string(), "v2", "v1"});
  BOOST_TEST(Contains(back.out, "M dataset data: shape 1200 -> 1000; 3 of 12 chunks differ"));
  BOOST_TEST(Contains(back.out, "A dataset gone"));
  BOOST_TEST(Vh5({"diff", file.string(), "v2", "v2"}).out.empty());

  pt::ptree json = Json(Vh5({"diff", file.string(), "v1", "v2", "--json"}).out);
  BOOST_TEST(json.get<std::string>("from") == "v1");
  std::vector<std::string> seen;
  for (const auto& [key, c] : json.get_child("changes")) {
    std::string path = c.get<std::string>("path");
    seen.push_back(c.get<std::string>("change") + " " + c.get<std::string>("kind") + " " + path);
    if (path == "data") {
      BOOST_TEST(c.get<std::string>("shape.from") == "1000");
      BOOST_TEST(c.get<std::string>("shape.to") == "1200");
      BOOST_TEST(c.get<int>("chunks_differ") == 3);
      BOOST_TEST(c.get<int>("chunks_total") == 12);
      BOOST_TEST(!c.get_child_optional("dtype"));
    }
    if (path == "g") {
      BOOST_TEST(c.get_child("attributes.changed").front().second.data() == "a");
      BOOST_TEST(c.get_child("attributes.added").front().second.data() == "b");
    }
  }
  BOOST_TEST((seen == std::vector<std::string>{"changed dataset data", "changed group g",
                                               "removed dataset gone", "added dataset new"}));
}

BOOST_AUTO_TEST_CASE(diff_of_fixture_versions_matches_the_manifest,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  auto fixtures = SharedFixtures();
  CommandResult r = Vh5({"diff", (*fixtures / "basic.h5").string(), "v1", "v4"});
  BOOST_TEST(r.exit_status == 0, r.err);
  BOOST_TEST(r.out.rfind("M dataset prices: shape 100000 -> 70001; ", 0) == 0, r.out);
  BOOST_TEST(Contains(r.out, "attributes changed: units"), r.out);
  CommandResult groups = Vh5({"diff", (*fixtures / "groups.h5").string(), "v1", "v4"});
  BOOST_TEST(Contains(groups.out, "D dataset a/b/c\n"), groups.out);
  BOOST_TEST(Contains(groups.out, "A group   empty_group\n"), groups.out);
}

BOOST_AUTO_TEST_CASE(set_current_moves_the_current_version,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  TempDir dir;
  fs::path file = CopyOf(*SharedFixtures() / "basic.h5", dir.path());
  CommandResult r = Vh5({"set-current", file.string(), "v2"});
  BOOST_TEST_REQUIRE(r.exit_status == 0, r.err);
  BOOST_TEST(H5pyOracle(file).get<std::string>("current_version") == "v2");
  BOOST_TEST(Json(Vh5({"log", file.string(), "--json"}).out).get<std::string>("current_version") ==
             "v2");
  BOOST_TEST(Lines(Vh5({"log", file.string()}).out).at(0).rfind("* v2 ", 0) == 0);
  VerifyClean(file);
}

BOOST_AUTO_TEST_CASE(delete_leaves_every_remaining_version_readable_and_the_file_sound,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  ForEachFixture([](const fs::path& fixture, const ManifestFile& m) {
    if (m.versions.empty()) return;
    TempDir dir;
    fs::path file = CopyOf(fixture, dir.path());
    // The current version and the oldest one (all of them when there are two or fewer).
    std::string oldest = m.versions.begin()->first;
    for (const auto& [name, v] : m.versions)
      if (v.timestamp < m.versions.at(oldest).timestamp) oldest = name;
    std::set<std::string> doomed = {m.current_version, oldest};
    if (m.versions.size() <= 2)
      for (const auto& [name, v] : m.versions) doomed.insert(name);
    std::vector<std::string> args = {"delete", file.string()};
    args.insert(args.end(), doomed.begin(), doomed.end());
    CommandResult r = Vh5(args);
    BOOST_TEST_REQUIRE(r.exit_status == 0, m.name << ": " << r.err);
    BOOST_TEST(r.err.empty());
    std::string current = Surviving(m, m.current_version, doomed);
    BOOST_TEST(Contains(r.out, "; current version " + current + "\n"), r.out);

    CommandResult verify = Vh5({"verify", file.string()});
    BOOST_TEST(verify.exit_status == 0, m.name << ": " << verify.out);

    pt::ptree log = Json(Vh5({"log", file.string(), "--json"}).out);
    std::map<std::string, std::string> parents;
    for (const auto& [key, v] : log.get_child("versions"))
      parents[v.get<std::string>("name")] = v.get<std::string>("prev_version");
    BOOST_TEST(parents.size() == m.versions.size() - doomed.size(), m.name);
    for (const auto& [name, prev] : parents) {
      BOOST_TEST(!doomed.count(name));
      BOOST_TEST(prev == Surviving(m, m.versions.at(name).prev_version, doomed), name);
    }

    // Every remaining version reads as before, through vh5 and through h5py.
    pt::ptree oracle = H5pyOracle(file);
    BOOST_TEST(oracle.get<std::string>("current_version") == current);
    BOOST_TEST(oracle.get_child("versions").size() == parents.size());
    if (oracle.get<int>("data_version") == 4) BOOST_TEST(oracle.get<int>("bad_hash_rows") == 0);
    size_t stride = parents.size() > 20 ? parents.size() / 10 : 1, i = 0;
    for (const auto& [name, prev] : parents) {
      const ManifestVersion& want = m.versions.at(name);
      const pt::ptree& got = At(oracle.get_child("versions"), name).get_child("datasets");
      BOOST_TEST(got.size() == want.datasets.size(), name);
      bool through_vh5 = i++ % stride == 0;  // h5py reads them all
      for (const auto& [path, ds] : want.datasets) {
        BOOST_TEST(At(got, path).get<std::string>("sha256") == ds.sha256, name << ":" << path);
        if (!through_vh5) continue;
        CommandResult cat = Vh5({"cat", file.string(), name + ":" + path});
        BOOST_TEST(Sha256Hex(cat.out) == ds.sha256, m.name << " " << name << ":" << path);
      }
    }
    // With no version left, no chunk is either.
    if (parents.empty())
      for (const auto& [path, rows] : oracle.get_child("table_rows"))
        BOOST_TEST(rows.get_value<int>() == 0, m.name << ": " << path);
  });
}

BOOST_AUTO_TEST_CASE(delete_reports_the_bytes_reclaimed_and_repack_returns_them) {
  TempDir dir;
  fs::path file = dir.path() / "big.h5";
  BOOST_TEST_REQUIRE(vh5::CreateVersionedFile(file.string()).ok());
  std::vector<double> values(256 * 1024);  // 2 MiB, 64 chunks, none alike
  for (int v = 1; v <= 2; ++v) {
    for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<double>(i) * v + 0.5;
    vh5::NewVersion version;
    version.name = "v" + std::to_string(v);
    version.datasets.push_back(Dataset("values", "<f8", {values.size()}, {4096}, Bytes(values)));
    version.datasets.push_back(Dataset("const", "<i8", {100}, {100}, Repeat("\7", 800)));
    BOOST_TEST_REQUIRE(vh5::CommitVersion(file.string(), version).ok());
  }
  std::string v2_values = Vh5({"cat", file.string(), "v2:values"}).out;
  BOOST_TEST_REQUIRE(v2_values.size() == values.size() * 8);
  fs::permissions(file, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  uint64_t size_before = fs::file_size(file);

  CommandResult r = Vh5({"delete", file.string(), "v1"});
  BOOST_TEST_REQUIRE(r.exit_status == 0, r.err);
  uint64_t reclaimed = NumberBefore(r.out, "bytes reclaimed");
  BOOST_TEST(reclaimed >= values.size() * 8, r.out);
  BOOST_TEST(Contains(r.out, "129 -> 65 chunks"), r.out);
  BOOST_TEST(fs::file_size(file) > size_before - reclaimed / 2, "space stays in the file");
  VerifyClean(file);

  CommandResult packed = Vh5({"repack", file.string()});
  BOOST_TEST_REQUIRE(packed.exit_status == 0, packed.err);
  BOOST_TEST(packed.err.empty());
  BOOST_TEST(fs::file_size(file) < size_before - reclaimed * 9 / 10, packed.out);
  BOOST_TEST(Contains(packed.out, "bytes returned to the filesystem"), packed.out);
  BOOST_TEST(Vh5({"cat", file.string(), "v2:values"}).out == v2_values);
  BOOST_TEST(Vh5({"cat", file.string(), "v2:const"}).out == Repeat("\7", 800));
  struct stat st;
  BOOST_TEST_REQUIRE(::stat(file.c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 07777) == 0640u, "the file keeps its permissions");
  size_t entries = std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator());
  BOOST_TEST(entries == 1u, "no copy left beside the file");
  VerifyClean(file);
  pt::ptree oracle = H5pyOracle(file);
  BOOST_TEST(oracle.get<std::string>("current_version") == "v2");
  BOOST_TEST(oracle.get<int>("bad_hash_rows") == 0);
  BOOST_TEST(At(oracle.get_child("versions"), "v2").get<std::string>("datasets.values.sha256") ==
             Sha256Hex(v2_values));
}

// Repacking copies into a new file: the strings of a string dataset are
// stored there anew (its chunks hold ids into a file's own global heap),
// and a group linked twice stays one group linked twice, not copied forever.
BOOST_AUTO_TEST_CASE(repack_keeps_strings_and_hard_links) {
  TempDir dir;
  fs::path file = dir.path() / "demo.h5";
  BOOST_TEST_REQUIRE(Vh5({"demo", file.string()}).exit_status == 0);
  auto contents = [&] {
    std::map<std::string, std::string> out;
    pt::ptree oracle = H5pyOracle(file);
    for (const auto& [version, v] : oracle.get_child("versions"))
      for (const auto& [path, d] : v.get_child("datasets"))
        out[version + ":" + path] = d.get<std::string>("sha256");
    return out;
  };
  std::map<std::string, std::string> before = contents();
  BOOST_TEST_REQUIRE(before.count("v3:names") == 1u);
  std::string names = Vh5({"cat", file.string(), "v3:names"}).out;
  BOOST_TEST_REQUIRE(!names.empty());

  CommandResult packed = Vh5({"repack", file.string()});
  BOOST_TEST_REQUIRE(packed.exit_status == 0, packed.err);
  VerifyClean(file);
  BOOST_TEST((contents() == before));
  BOOST_TEST(Vh5({"cat", file.string(), "v3:names"}).out == names);

  // A cycle in v2: readers refuse v2 alone, verify names both links, and a
  // repack keeps the links as they are.
  Damage(file, {"group-cycle", "/_version_data/versions/v2/sensors"});
  const std::vector<std::string> problems = {
      file.string() +
          ": version v2: sensors/loop/self: a group linked a second time (a cycle, or two paths "
          "to it)",
      file.string() +
          ": version v2: sensors/loop/up: a group linked a second time (a cycle, or two paths "
          "to it)"};
  CommandResult verified = Vh5({"verify", file.string()});
  BOOST_TEST(verified.exit_status == 1);
  BOOST_TEST(Lines(verified.out) == problems, verified.out);
  CommandResult listed = Vh5({"ls", file.string(), "v2"});
  BOOST_TEST(listed.exit_status == 1);
  BOOST_TEST(Contains(listed.err, "/sensors/loop/self: a group linked a second time"), listed.err);
  BOOST_TEST(Vh5({"ls", file.string(), "v3"}).exit_status == 0);
  packed = Vh5({"repack", file.string()});
  BOOST_TEST_REQUIRE(packed.exit_status == 0, packed.err);
  BOOST_TEST(Lines(Vh5({"verify", file.string()}).out) == problems);
  CommandResult same = Run({"/usr/bin/python3", "-c",
                            "import sys, h5py\n"
                            "g = h5py.File(sys.argv[1], 'r')['_version_data/versions/v2/sensors']\n"
                            "print(g['loop/up'].id == g.id, g['loop/self'].id == g['loop'].id)\n",
                            file.string()});
  BOOST_TEST(same.out == "True True\n", same.out << same.err);
}

// Groups nested 20,000 deep (once a stack overflow): verify names them in
// one line, ls refuses that version alone, repack refuses the file and
// leaves it as it was.
BOOST_AUTO_TEST_CASE(groups_nested_too_deep_are_refused_not_a_crash) {
  TempDir dir;
  fs::path file = dir.path() / "demo.h5";
  BOOST_TEST_REQUIRE(Vh5({"demo", file.string()}).exit_status == 0);
  Damage(file, {"deep-groups", "/_version_data/versions/v2/sensors", "20000"});
  std::string before = Sha256Hex(ReadFile(file));
  CommandResult verified = Vh5({"verify", file.string()});
  BOOST_TEST(verified.exit_status == 1);
  std::vector<std::string> lines = Lines(verified.out);
  BOOST_TEST_REQUIRE(lines.size() == 1u, verified.out.substr(0, 300));
  BOOST_TEST(lines[0].rfind(file.string() + ": version v2: sensors/d/d/", 0) == 0);
  BOOST_TEST(Contains(lines[0], "/d: groups nested deeper than 512 levels"));
  CommandResult listed = Vh5({"ls", file.string(), "v2"});
  BOOST_TEST(listed.exit_status == 1);
  BOOST_TEST(Contains(listed.err, "groups nested deeper than 512 levels"));
  BOOST_TEST(Vh5({"ls", file.string(), "v3"}).exit_status == 0);
  CommandResult packed = Vh5({"repack", file.string()});
  BOOST_TEST(packed.exit_status == 1);
  BOOST_TEST(Contains(packed.err, "groups nested deeper than 512 levels"));
  BOOST_TEST(Sha256Hex(ReadFile(file)) == before);
  size_t entries = std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator());
  BOOST_TEST(entries == 1u, "no copy left beside the file");
}

BOOST_AUTO_TEST_CASE(delete_with_repack_shrinks_the_file_in_one_go,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  TempDir dir;
  fs::path file = CopyOf(*SharedFixtures() / "many_versions.h5", dir.path());
  uint64_t before = fs::file_size(file);
  std::vector<std::string> args = {"delete", file.string()};
  for (int i = 0; i < 150; ++i) {
    char name[8];
    std::snprintf(name, sizeof name, "r%04d", i);
    args.push_back(name);
  }
  args.push_back("--repack");
  CommandResult r = Vh5(args);
  BOOST_TEST_REQUIRE(r.exit_status == 0, r.err);
  BOOST_TEST(Contains(r.out, "after repacking"), r.out);
  BOOST_TEST(fs::file_size(file) < before, r.out);
  VerifyClean(file);
  BOOST_TEST(H5pyOracle(file).get_child("versions").size() == 150u);
}

BOOST_AUTO_TEST_CASE(verify_reports_each_damage_in_one_line,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  struct Case {
    std::string fixture;
    std::vector<std::vector<std::string>> damage;
    std::vector<std::string> lines;  // what each problem line says, in order
  };
  const std::vector<Case> cases = {
      {"basic.h5",
       {{"hash-row", "prices", "3"}},
       {"prices: hash_table row 3 [12288:16384] does not match the SHA-256 of the chunk it "
        "points to"}},
      {"basic.h5",
       {{"mapping-shift", "v2", "prices", "2", "1000000"}},
       {"version v2: prices: mapping 2 reads raw_data [1008192:1012288], outside its shape "
        "(147456,)"}},
      {"basic.h5",
       {{"mapping-shift", "v2", "prices", "2", "1"}},
       {"version v2: prices: mapping 2 reads raw_data [8193:12289], which does not start at a "
        "raw_data chunk"}},
      {"basic.h5", {{"del-version", "v2"}}, {"version v3: prev_version v2 is not a version"}},
      {"basic.h5", {{"current-version", "nope"}}, {"current_version nope is not a version"}},
      {"basic.h5", {{"data-version", "9"}}, {"data_version 9 is not one this vh5 knows (1 to 4)"}},
      {"basic.h5",
       {{"prev-version", "v1", "v3"}},
       {"versions v1 -> v3 -> v2 -> v1: the prev_version chain loops and never reaches "
        "__first_version__"}},
      {"basic.h5", {{"del-hash-table", "prices"}}, {"prices: no hash_table"}},
      {"basic.h5",
       {{"drop-hash-row", "prices", "5"}},
       {"prices: raw_data chunk at row 20480 is mapped (by version v1: prices) but no hash_table "
        "row holds its hash"}},
      {"basic.h5",
       {{"hash-row", "prices", "0"}, {"current-version", "gone"}},
       {"current_version gone is not a version",
        "prices: hash_table row 0 [0:4096] does not match the SHA-256 of the chunk it points to"}},
      {"multidim.h5",
       {{"mapping-shift", "v2", "matrix", "0", "100000"}},
       {"version v2: matrix: mapping 0 reads raw_data [100000:100100, 0:16], outside its shape "
        "(5100, 16)"}},
      {"vlen.h5",
       {{"hash-row", "names", "1"}},
       {"names: hash_table row 1 [16:32] does not match the SHA-256 of the chunk it points to"}},
  };
  for (const Case& c : cases) {
    Isolated([&] {
      TempDir dir;
      fs::path file = CopyOf(*SharedFixtures() / c.fixture, dir.path());
      for (const auto& d : c.damage) Damage(file, d);
      CommandResult r = Vh5({"verify", file.string()});
      BOOST_TEST(r.exit_status == 1, c.fixture << " " << c.damage[0][0] << ": " << r.out);
      std::vector<std::string> want;
      for (const std::string& line : c.lines) want.push_back(file.string() + ": " + line);
      BOOST_TEST(Lines(r.out) == want, r.out);
      BOOST_TEST(r.err.empty(), r.err);
    });
  }
}

// vh5 waits for other processes' locks and writes (vh5/file_lock.h): a
// holder is a python3 process with the file open in h5py, which takes
// HDF5's flock, shared for 'r' and exclusive for 'r+' (and opens it for
// writing), for as long as the file is open.

BOOST_AUTO_TEST_CASE(set_current_waits_for_a_writer_then_names_it_or_goes_through,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  TempDir dir;
  fs::path file = CopyOf(*SharedFixtures() / "basic.h5", dir.path());
  const std::string f = file.string();
  {
    H5pyHolder writer(file, "r+", 30);
    FileState before = FileState::Of(file);
    Seconds took;
    CommandResult r = Vh5({"set-current", f, "v1", "--wait", "1"});
    double waited = took();
    ExpectOneLineError(r, "set-current", "(pid " + std::to_string(writer.pid()) + ")");
    BOOST_TEST(Contains(r.err, f + ": in use by another process"), r.err);
    BOOST_TEST(Contains(r.err, "held by python3"), r.err);
    BOOST_TEST(Contains(r.err, "after waiting 1 s"), r.err);
    BOOST_TEST(waited >= 0.9, waited);
    BOOST_TEST(waited < 5, waited);
    writer.Stop();
    CheckUnchanged(file, before);
  }
  // A holder that lets go within the wait: the change goes through.
  H5pyHolder writer(file, "r+", 1);
  Seconds took;
  CommandResult r = Vh5({"set-current", f, "v1", "--wait=20"});
  BOOST_TEST(r.exit_status == 0, r.err);
  BOOST_TEST(took() >= 0.5, "it waited for the writer");
  BOOST_TEST(writer.Wait() == 0, "h5py closed the file cleanly");
  BOOST_TEST(H5pyOracle(file).get<std::string>("current_version") == "v1");
  VerifyClean(file);
}

BOOST_AUTO_TEST_CASE(reads_go_beside_a_reader_and_wait_for_a_writer,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  TempDir dir;
  fs::path file = CopyOf(*SharedFixtures() / "basic.h5", dir.path());
  const std::string f = file.string();
  {
    H5pyHolder reader(file, "r", 30);
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"log", f}, {"ls", f}, {"diff", f, "v1", "v2"}, {"verify", f}}) {
      std::vector<std::string> argv = args;
      argv.insert(argv.end(), {"--wait", "0"});
      CommandResult r = Vh5(argv);
      BOOST_TEST(r.exit_status == 0, args[0] << ": " << r.err);
    }
  }
  {
    // A writer that stays: every read gives up after its wait, naming it.
    H5pyHolder writer(file, "r+", 30);
    for (const std::vector<std::string>& args : {std::vector<std::string>{"log", f},
                                                 {"cat", f, "v1:prices"},
                                                 {"diff", f, "v1", "v2"},
                                                 {"verify", f}}) {
      std::vector<std::string> argv = args;
      argv.insert(argv.end(), {"--wait", "0.3"});
      CommandResult r = Vh5(argv);
      ExpectOneLineError(r, args[0], f + ": open for writing by another process");
      BOOST_TEST(Contains(r.err, "(pid " + std::to_string(writer.pid()) + ")"), r.err);
    }
  }
  // A writer that closes the file: log waits, then reads what it wrote.
  CommandResult before = Vh5({"log", f});
  BOOST_TEST_REQUIRE(before.exit_status == 0, before.err);
  H5pyHolder writer(file, "r+", 1);
  Seconds took;
  CommandResult log = Vh5({"log", f});
  BOOST_TEST(log.exit_status == 0, log.err);
  BOOST_TEST(took() >= 0.5, "it waited for the writer");
  BOOST_TEST(log.out == before.out);
}

BOOST_AUTO_TEST_CASE(repack_waits_for_a_reader_then_replaces_the_file,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  TempDir dir;
  fs::path file = CopyOf(*SharedFixtures() / "basic.h5", dir.path());
  const std::string f = file.string();
  CommandResult log = Vh5({"log", f});
  struct stat old_st;
  BOOST_TEST_REQUIRE(::stat(f.c_str(), &old_st) == 0);
  {
    H5pyHolder reader(file, "r", 30);
    ExpectOneLineError(Vh5({"repack", f, "--wait", "0.2"}), "repack",
                       "(pid " + std::to_string(reader.pid()) + ")");
  }
  H5pyHolder reader(file, "r", 1);
  Seconds took;
  CommandResult r = Vh5({"repack", f});
  BOOST_TEST(r.exit_status == 0, r.err);
  BOOST_TEST(took() >= 0.5, "it waited for the reader");
  BOOST_TEST(reader.Wait() == 0);
  struct stat new_st;
  BOOST_TEST_REQUIRE(::stat(f.c_str(), &new_st) == 0);
  BOOST_TEST(new_st.st_ino != old_st.st_ino, "a new file replaced it");
  BOOST_TEST(Vh5({"log", f}).out == log.out);
  VerifyClean(file);
}

// A mount holds no lock between commits (doc/sharing.md): vh5 changes the
// file beside it, and the mount shows the change.
BOOST_AUTO_TEST_CASE(changes_go_through_while_vh5fs_has_the_file_mounted,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  TempDir dir;
  fs::path file = CopyOf(*SharedFixtures() / "basic.h5", dir.path());
  const std::string f = file.string();
  // Within 2 s, as SPEC.md promises for versions committed elsewhere.
  auto within = [](const std::function<bool()>& seen) {
    for (int i = 0; i < 200; ++i) {
      if (seen()) return true;
      usleep(10000);
    }
    return seen();
  };
  auto current = [](const Mount& mount) {
    std::error_code ec;
    return fs::read_symlink(mount.root() / "current", ec).filename().string();
  };
  for (bool read_only : {false, true}) {
    BOOST_TEST_CONTEXT((read_only ? "-o ro mount" : "read-write mount")) {
      Mount mount(file,
                  read_only ? std::vector<std::string>{"-o", "ro"} : std::vector<std::string>{});
      std::string target = read_only ? "v3" : "v1";
      CommandResult set = Vh5({"set-current", f, target, "--wait", "5"});
      BOOST_TEST(set.exit_status == 0, set.err);
      BOOST_TEST(within([&] { return current(mount) == target; }), current(mount));
      if (!read_only) {
        CommandResult del = Vh5({"delete", f, "v2", "--wait", "5"});
        BOOST_TEST(del.exit_status == 0, del.err);
        BOOST_TEST(within([&] { return !fs::exists(mount.root() / "versions" / "v2"); }));
      }
      CommandResult repack = Vh5({"repack", f, "--wait", "5"});
      BOOST_TEST(repack.exit_status == 0, repack.err);
      BOOST_TEST(within([&] { return fs::exists(mount.root() / "versions" / target); }));
      CommandResult log = Vh5({"log", f, "--wait", "5"});
      BOOST_TEST(log.exit_status == 0, log.err);
      BOOST_TEST(within([&] { return current(mount) == target; }), current(mount));
    }
  }
  VerifyClean(file);
}

BOOST_AUTO_TEST_CASE(progress_is_drawn_on_a_terminal_only,
                     *boost::unit_test::precondition(RequiresSharedFixtures())) {
  BOOST_TEST_REQUIRE(fs::exists("/usr/bin/script"), "util-linux script(1) gives vh5 a terminal");
  TempDir dir;
  fs::path file = CopyOf(*SharedFixtures() / "basic.h5", dir.path());
  CommandResult tty =
      Run({"/usr/bin/script", "-qec", Vh5Binary() + " verify " + file.string(), "/dev/null"});
  BOOST_TEST(tty.exit_status == 0, tty.out);
  BOOST_TEST(Contains(tty.out, "\r\033[Kvh5 verify: hashing chunks "), tty.out);
  BOOST_TEST(Contains(tty.out, "ok: 4 versions"), tty.out);
  CommandResult plain = Vh5({"verify", file.string()});
  BOOST_TEST(plain.err.empty());
  BOOST_TEST(!Contains(plain.out, "\r"));
}

BOOST_AUTO_TEST_SUITE_END()
