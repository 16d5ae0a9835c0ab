#include "log.h"

#include <syslog.h>

#include <atomic>
#include <cstdio>
#include <string>

namespace vh5fs {
namespace {
std::atomic<bool> g_syslog{false};

void Write(int priority, std::string_view message) {
  if (g_syslog) {
    syslog(priority, "%.*s", static_cast<int>(message.size()), message.data());
  } else {
    std::string line = "vh5fs: " + std::string(message) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}
}  // namespace

void UseSyslog() {
  openlog("vh5fs", LOG_PID, LOG_DAEMON);
  g_syslog = true;
}

void LogError(std::string_view message) { Write(LOG_ERR, message); }
void LogInfo(std::string_view message) { Write(LOG_INFO, message); }

}  // namespace vh5fs
