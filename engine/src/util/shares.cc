#include "util/shares.h"

#include <system_error>
#include <thread>
#include <vector>

namespace vh5 {

Status RunShares(size_t count, const std::function<Status(size_t)>& share) {
  std::vector<Status> results(count);
  std::vector<std::thread> threads;
  for (size_t k = 1; k < count; ++k) {
    try {
      threads.emplace_back([&results, &share, k] { results[k] = share(k); });
    } catch (const std::system_error&) {
      results[k] = share(k);  // no thread to be had: this one runs that share too
    }
  }
  if (count > 0) results[0] = share(0);
  for (std::thread& t : threads) t.join();
  for (const Status& r : results) VH5_RETURN_IF_ERROR(r);
  return Status::OK();
}

}  // namespace vh5
