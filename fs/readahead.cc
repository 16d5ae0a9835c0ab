#include "readahead.h"

#include <cerrno>
#include <fstream>
#include <sstream>

namespace vh5fs {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out.push_back(static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

}  // namespace

std::string MountDevice(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line, found;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point;
    if (!(fields >> id >> parent >> device >> root >> point)) continue;
    // The last match is the one on top.
    if (Unescape(point) == mountpoint) found = device;
  }
  return found;
}

bool SetReadaheadKb(const std::string& device, unsigned kb) {
  if (device.empty()) {
    errno = ENOENT;
    return false;
  }
  std::ofstream out("/sys/class/bdi/" + device + "/read_ahead_kb");
  if (!out) return false;
  out << kb << '\n';
  out.flush();
  return static_cast<bool>(out);
}

}  // namespace vh5fs
