#include "cli.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "vh5/shape.h"

namespace vh5tool {

vh5::Result<Args> ParseArgs(const std::vector<std::string>& argv,
                            std::initializer_list<const char*> known) {
  Args args;
  bool options_done = false;
  bool waits = false;
  for (const char* k : known) waits = waits || std::string_view(k) == kWaitOption;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      args.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    const std::string wait_eq = std::string(kWaitOption) + "=";
    if (waits && (a == kWaitOption || a.rfind(wait_eq, 0) == 0)) {
      std::string value;
      if (a != kWaitOption) {
        value = a.substr(wait_eq.size());
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        return vh5::Status::InvalidArgument("--wait needs a number of seconds");
      }
      char* end = nullptr;
      errno = 0;
      double seconds = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || errno != 0 || !(seconds >= 0) || seconds > 1e9)
        return vh5::Status::InvalidArgument("--wait " + value +
                                            ": not a number of seconds (0 or more)");
      args.wait = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000 + 0.5));
      continue;
    }
    bool found = false;
    for (const char* k : known) found = found || a == k;
    if (!found) return vh5::Status::InvalidArgument("unknown option " + a);
    args.options.insert(a);
  }
  return args;
}

int Fail(const char* command, const vh5::Status& status) { return Fail(command, status.message()); }

int Fail(const char* command, const std::string& message) {
  std::fprintf(stderr, "vh5 %s: %s\n", command, message.c_str());
  return 1;
}

vh5::Result<std::shared_ptr<vh5::VersionedFile>> OpenForReading(const std::string& path,
                                                                std::chrono::milliseconds wait) {
  VH5_RETURN_IF_ERROR(vh5::WaitUntilNotWritten(path, wait));
  return vh5::VersionedFile::OpenReadOnly(path);
}

vh5::Result<VersionPath> ResolveVersionPath(const vh5::VersionedFile& file, const std::string& spec,
                                            bool path_required) {
  auto normalized = [](std::string path) {
    while (!path.empty() && path.front() == '/') path.erase(0, 1);
    while (!path.empty() && path.back() == '/') path.pop_back();
    return path;
  };
  for (size_t colon = spec.find(':'); colon != std::string::npos;
       colon = spec.find(':', colon + 1)) {
    std::string version = spec.substr(0, colon);
    if (version.empty()) {
      std::optional<std::string> current = file.CurrentVersion();
      if (!current) return vh5::Status::NotFound(file.path() + ": no current version");
      return VersionPath{*current, normalized(spec.substr(1))};
    }
    if (file.GetVersionInfo(version).ok())
      return VersionPath{version, normalized(spec.substr(colon + 1))};
  }
  if (file.GetVersionInfo(spec).ok()) {
    if (path_required)
      return vh5::Status::InvalidArgument("expected VERSION:PATH, got the version " + spec);
    return VersionPath{spec, ""};
  }
  std::string version = spec.substr(0, spec.find(':'));
  return vh5::Status::NotFound(file.path() + ": no version " + version);
}

std::string JsonString(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

bool WriteAll(FILE* out, std::string_view text) {
  return std::fwrite(text.data(), 1, text.size(), out) == text.size();
}

}  // namespace vh5tool
