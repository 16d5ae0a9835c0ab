// Log lines of the daemon: stderr in the foreground, syslog once daemonized.
#pragma once

#include <string_view>

namespace vh5fs {

void UseSyslog();
void LogError(std::string_view message);
void LogInfo(std::string_view message);

}  // namespace vh5fs
