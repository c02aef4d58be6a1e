#include "runtime/publisher.h"

#include <algorithm>

#include "runtime/status_page.h"

namespace pgconn {

Publisher::Publisher(ExpositionPart global)
    : global_(std::make_shared<const ExpositionPart>(std::move(global))) {}

void Publisher::Publish(TargetReport report, ExpositionPart part) {
  auto shared = std::make_shared<const ExpositionPart>(std::move(part));
  MutexLock lock(&mu_);
  auto it = index_.find(report.target);
  if (it == index_.end()) {
    it = index_.emplace(report.target, slots_.size()).first;
    slots_.push_back({});
  }
  Slot& slot = slots_[it->second];
  if (report.stats.attempted && !slot.report.stats.attempted) ++attempted_;
  // A target a reload restarted begins again unpolled.
  if (!report.stats.attempted && slot.report.stats.attempted) --attempted_;
  slot.report = std::move(report);
  slot.part = std::move(shared);
  ++generation_;
}

void Publisher::Remove(const std::string& target) {
  MutexLock lock(&mu_);
  auto it = index_.find(target);
  if (it == index_.end()) return;
  const size_t removed = it->second;
  if (slots_[removed].report.stats.attempted) --attempted_;
  slots_.erase(slots_.begin() + static_cast<std::ptrdiff_t>(removed));
  index_.erase(it);
  for (auto& [name, i] : index_) {
    if (i > removed) --i;
  }
  ++generation_;
}

void Publisher::SetAgentPart(ExpositionPart part) {
  auto shared = std::make_shared<const ExpositionPart>(std::move(part));
  MutexLock lock(&mu_);
  agent_part_ = std::move(shared);
  ++generation_;
}

std::shared_ptr<const Exposition> Publisher::Current() const {
  {
    MutexLock lock(&mu_);
    const auto now = std::chrono::steady_clock::now();
    const bool idle = now - last_scrape_ > kScrapesIdle;
    last_scrape_ = now;
    if (current_generation_ == generation_) return current_;
    if (refreshed_ && !idle && current_ != nullptr &&
        current_->size() >= kLargeBytes &&
        now - current_taken_ <= kMaxServedAge) {
      return current_;
    }
  }
  return Assemble(false);
}

std::shared_ptr<const Exposition> Publisher::Assemble(bool warm) const {
  MutexLock assembling(&assemble_mu_);
  std::vector<std::shared_ptr<const ExpositionPart>> parts;
  uint64_t generation = 0;
  std::chrono::steady_clock::time_point taken;
  {
    MutexLock lock(&mu_);
    // Another scrape may have assembled it while this one waited.
    if (current_generation_ == generation_) return current_;
    generation = generation_;
    taken = std::chrono::steady_clock::now();
    parts.reserve(slots_.size() + 2);
    parts.push_back(global_);
    parts.push_back(agent_part_);
    for (const Slot& s : slots_) parts.push_back(s.part);
  }
  size_t bytes = 0;
  for (const auto& p : parts) bytes += p ? p->bytes : 0;
  std::shared_ptr<const Exposition> e;
  if (bytes >= kLargeBytes) {
    // Kept compressed, compressed straight from the parts (about the text's
    // size: the family headers count once per part here).
    Exposition::OpenGzip open = GzipOpen(parts);
    if (!open.bytes.empty()) {
      e = std::make_shared<const Exposition>(std::move(open));
    }
  }
  if (e == nullptr) {
    e = std::make_shared<const Exposition>(AssembleText(parts));
    if (warm) (void)e->gzip_open();
  }
  MutexLock lock(&mu_);
  if (current_generation_ == ~uint64_t{0} || generation > current_generation_) {
    current_ = e;
    current_generation_ = generation;
    current_taken_ = taken;
  }
  return e;
}

std::chrono::steady_clock::duration Publisher::Refresh() {
  const auto start = std::chrono::steady_clock::now();
  {
    MutexLock lock(&mu_);
    refreshed_ = true;
    // Small ones are quick to assemble when asked; none is built ahead
    // when nobody asked for the last build (a build a second for a
    // scrape every 15 s: 14 of 15 thrown away).
    if (current_generation_ == generation_ || current_ == nullptr ||
        current_->size() < kLargeBytes || last_scrape_ <= current_taken_ ||
        start - last_scrape_ > kScrapesIdle) {
      return kRefreshPeriod;
    }
  }
  Assemble(true);
  const auto took = std::chrono::steady_clock::now() - start;
  return std::clamp<std::chrono::steady_clock::duration>(
      20 * took, kRefreshPeriod, kMaxRefreshPeriod);
}

std::shared_ptr<const StatusPage> Publisher::CurrentPage() const {
  // How often the page reloads itself.
  constexpr int kRefreshSeconds = 5;
  {
    MutexLock lock(&mu_);
    if (page_generation_ == generation_) return page_;
  }
  MutexLock building(&page_mu_);
  std::vector<TargetReport> reports;
  uint64_t generation = 0;
  {
    MutexLock lock(&mu_);
    if (page_generation_ == generation_) return page_;
    generation = generation_;
    reports.reserve(slots_.size());
    for (const Slot& s : slots_) reports.push_back(s.report);
  }
  auto page = BuildStatusPage(reports, kRefreshSeconds);
  MutexLock lock(&mu_);
  if (page_generation_ == ~uint64_t{0} || generation > page_generation_) {
    page_ = page;
    page_generation_ = generation;
  }
  return page;
}

std::shared_ptr<const Exposition> Publisher::CurrentFor(
    std::string_view target) const {
  std::shared_ptr<const ExpositionPart> part;
  {
    MutexLock lock(&mu_);
    auto it = index_.find(target);
    if (it == index_.end()) return nullptr;
    part = slots_[it->second].part;
  }
  return std::make_shared<const Exposition>(AssembleText({part}));
}

bool Publisher::Ready() const {
  MutexLock lock(&mu_);
  return attempted_ == slots_.size();
}

std::vector<std::string> Publisher::TargetNames() const {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  out.reserve(slots_.size());
  for (const Slot& s : slots_) out.push_back(s.report.target);
  return out;
}

std::vector<TargetReport> Publisher::Reports() const {
  MutexLock lock(&mu_);
  std::vector<TargetReport> out;
  out.reserve(slots_.size());
  for (const Slot& s : slots_) out.push_back(s.report);
  return out;
}

}  // namespace pgconn
