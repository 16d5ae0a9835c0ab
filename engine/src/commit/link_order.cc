#include "commit/link_order.h"

namespace vh5 {

std::vector<size_t> PackedOrder(size_t count, unsigned leaf_k) {
  std::vector<size_t> order;
  order.reserve(count);
  size_t k = leaf_k == 0 ? 1 : leaf_k;
  for (int half = 1; half >= 0; --half)
    for (size_t i = 0; i < count; ++i)
      if ((i % (2 * k) >= k) == (half == 1)) order.push_back(i);
  return order;
}

}  // namespace vh5
