// Keeps the latest report and exposition part of every target. Pollers
// publish (a pointer swap under the lock); scrapes read. The full
// exposition is assembled from the parts, outside that lock, at most once
// per change and only when somebody asks for it.
#ifndef PGCONN_AGENT_RUNTIME_PUBLISHER_H_
#define PGCONN_AGENT_RUNTIME_PUBLISHER_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "expose/exposition_part.h"
#include "pgconn/publisher.h"
#include "pgconn/thread_annotations.h"
#include "runtime/report.h"

namespace pgconn {

// Thread-safe.
class Publisher final : public ExpositionSource {
 public:
  // `global` comes first in every exposition (pgconn_build_info).
  explicit Publisher(ExpositionPart global);
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Replaces the report and part of `report.target`; a target not seen
  // before is added after the others. Constant time in the number of
  // targets.
  void Publish(TargetReport report, ExpositionPart part);

  // Drops the report and part of `target` (a target a reload removed): its
  // series leave the exposition. A no-op for an unknown target.
  void Remove(const std::string& target);

  // Replaces the agent's own part, written right after `global` (the
  // configuration reload gauges).
  void SetAgentPart(ExpositionPart part);

  // The exposition of the latest published state, assembled on the calling
  // thread when it changed; except a large one that Refresh() keeps built:
  // that one is served as last built, at most a refresh period old.
  std::shared_ptr<const Exposition> Current() const override;
  bool Ready() const override;

  // Called again and again (the agent's scheduler) after the returned time:
  // a large exposition (kLargeBytes and up) that changed and was scraped
  // since it was last built is assembled and its gzip built here, off the
  // scraping thread, at most once per 20 x the last build's time, within
  // [kRefreshPeriod, kMaxRefreshPeriod]. A fleet's pollers publish many
  // times a second, so otherwise every scrape would assemble and compress
  // the whole text again on the HTTP thread. Scrapes are served the last
  // build while its state is at most kMaxServedAge old; an older one is
  // assembled again by the scrape itself (a lone scraper every 15 s), so
  // that nothing is built ahead for nobody, and no scrape is served a
  // state older than that.
  std::chrono::steady_clock::duration Refresh();
  static constexpr size_t kLargeBytes = 1 << 20;
  static constexpr std::chrono::milliseconds kRefreshPeriod{1000};
  static constexpr std::chrono::milliseconds kMaxRefreshPeriod{5000};
  // Past the longest refresh period and its build, so that scrapers that
  // keep Refresh() building are always served its last build.
  static constexpr std::chrono::milliseconds kMaxServedAge{2 *
                                                           kMaxRefreshPeriod};
  // No scrape for this long: Refresh() builds nothing ahead.
  static constexpr std::chrono::seconds kScrapesIdle{120};
  // The status page (runtime/status_page.h) of the published reports, built
  // like the exposition: at most once per change, when somebody asks.
  std::shared_ptr<const StatusPage> CurrentPage() const override;
  // Assembled on each call: one target's part is small.
  std::shared_ptr<const Exposition> CurrentFor(
      std::string_view target) const override;
  std::vector<std::string> TargetNames() const override;
  std::vector<TargetReport> Reports() const;

 private:
  // Assembles the exposition of the current state and keeps it (unless a
  // newer one was kept meanwhile); with `warm`, builds its open gzip before
  // anybody else can see it.
  std::shared_ptr<const Exposition> Assemble(bool warm) const;

  struct Slot {
    TargetReport report;
    std::shared_ptr<const ExpositionPart> part;
  };

  const std::shared_ptr<const ExpositionPart> global_;
  // Held while assembling, so that concurrent scrapes of a changed state
  // wait for one assembly instead of each doing it. Taken before mu_.
  mutable Mutex assemble_mu_;
  mutable Mutex mu_;
  std::shared_ptr<const ExpositionPart> agent_part_ PGCONN_GUARDED_BY(mu_);
  std::vector<Slot> slots_ PGCONN_GUARDED_BY(mu_);
  std::map<std::string, size_t, std::less<>> index_ PGCONN_GUARDED_BY(mu_);
  size_t attempted_ PGCONN_GUARDED_BY(mu_) = 0;  // slots polled at least once
  uint64_t generation_ PGCONN_GUARDED_BY(mu_) = 0;
  mutable std::shared_ptr<const Exposition> current_ PGCONN_GUARDED_BY(mu_);
  mutable uint64_t current_generation_ PGCONN_GUARDED_BY(mu_) = ~uint64_t{0};
  mutable std::chrono::steady_clock::time_point last_scrape_
      PGCONN_GUARDED_BY(mu_){};
  // When the state of current_ was taken (the start of its assembly).
  mutable std::chrono::steady_clock::time_point current_taken_
      PGCONN_GUARDED_BY(mu_){};
  bool refreshed_ PGCONN_GUARDED_BY(mu_) = false;  // Refresh() runs
  // The status page, cached like current_; built under page_mu_ (taken
  // before mu_).
  mutable Mutex page_mu_;
  mutable std::shared_ptr<const StatusPage> page_ PGCONN_GUARDED_BY(mu_);
  mutable uint64_t page_generation_ PGCONN_GUARDED_BY(mu_) = ~uint64_t{0};
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_RUNTIME_PUBLISHER_H_
