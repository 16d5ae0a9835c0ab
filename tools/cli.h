// What every subcommand shares: its arguments, its errors, its output.
#pragma once

#include <chrono>
#include <cstdio>
#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vh5/file_lock.h"
#include "vh5/status.h"
#include "vh5/versioned_file.h"

namespace vh5tool {

// The option that says how long to wait for another process's lock or
// write: "--wait SECONDS" or "--wait=SECONDS", fractions allowed.
inline constexpr char kWaitOption[] = "--wait";

// A subcommand's command line: positional arguments and the options given.
struct Args {
  std::vector<std::string> positional;
  std::set<std::string> options;
  std::chrono::milliseconds wait = vh5::kDefaultWait;  // kWaitOption's value
  bool has(const char* option) const { return options.count(option) > 0; }
};

// Splits `argv` into positional arguments and options among `known`
// ("-l", "--json", kWaitOption, which takes a value); "--" ends the options.
// InvalidArgument for any other word starting with '-', or a wait that is
// not a number of seconds.
vh5::Result<Args> ParseArgs(const std::vector<std::string>& argv,
                            std::initializer_list<const char*> known);

// Prints "vh5 COMMAND: message" on stderr and returns the exit status 1.
int Fail(const char* command, const vh5::Status& status);
int Fail(const char* command, const std::string& message);

// Opens FILE read-only for a subcommand that only reads it, once no other
// process has it open for writing (waiting up to `wait`).
vh5::Result<std::shared_ptr<vh5::VersionedFile>> OpenForReading(const std::string& path,
                                                                std::chrono::milliseconds wait);

// "VERSION:PATH", "VERSION" or ":PATH" (the current version). A version name
// may itself hold ':': the first split whose left side names a version wins.
struct VersionPath {
  std::string version;
  std::string path;  // relative to the version root, no leading '/'; "" is the root
};
vh5::Result<VersionPath> ResolveVersionPath(const vh5::VersionedFile& file, const std::string& spec,
                                            bool path_required);

// `text` as a JSON string, quotes included.
std::string JsonString(std::string_view text);

// Writes all of `text` to `out`; false when the stream failed.
bool WriteAll(FILE* out, std::string_view text);

}  // namespace vh5tool
