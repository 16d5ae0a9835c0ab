#include "util/crash_point.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace vh5::crash {
namespace {

constexpr int kPoints = static_cast<int>(Point::kCount);
std::atomic<int> g_armed[kPoints];
std::atomic<Scope> g_scope[kPoints];
std::atomic<pid_t> g_bystanders[8];  // 0: a free slot

}  // namespace

void Arm(Point point, int at, Scope scope) {
  g_scope[static_cast<int>(point)] = scope;
  g_armed[static_cast<int>(point)] = at;
}

void Reach(Point point, int count) {
  int at = g_armed[static_cast<int>(point)].load(std::memory_order_relaxed);
  if (at <= 0 || count != at) return;
  if (g_scope[static_cast<int>(point)] == Scope::kPowerLoss) {
    for (std::atomic<pid_t>& slot : g_bystanders) {
      pid_t pid = slot.exchange(0);
      if (pid <= 0) continue;
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
  ::_exit(99);
}

void AddBystander(pid_t pid) {
  for (std::atomic<pid_t>& slot : g_bystanders) {
    pid_t free = 0;
    if (slot.compare_exchange_strong(free, pid)) return;
  }
}

void RemoveBystander(pid_t pid) {
  for (std::atomic<pid_t>& slot : g_bystanders) {
    pid_t mine = pid;
    if (slot.compare_exchange_strong(mine, 0)) return;
  }
}

}  // namespace vh5::crash
