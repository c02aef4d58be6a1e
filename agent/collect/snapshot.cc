#include "collect/snapshot.h"

namespace pgconn {

void Snapshot::Put(std::string_view name,
                   std::shared_ptr<const Observation> part) {
  for (auto& [n, p] : parts_) {
    if (n == name) {
      p = std::move(part);
      return;
    }
  }
  parts_.emplace_back(std::string(name), std::move(part));
}

const Observation* Snapshot::Get(std::string_view name) const {
  for (const auto& [n, p] : parts_) {
    if (n == name) return p.get();
  }
  return nullptr;
}

}  // namespace pgconn
