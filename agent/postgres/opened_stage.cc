#include "postgres/opened_stage.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "postgres/observations.h"

namespace pgconn {

OpenedCounts::OpenedCounts(size_t max_applications,
                           std::set<std::string, std::less<>> pinned)
    : counters_(max_applications, std::string(kOtherLabel)) {
  MutexLock lock(&mu_);
  counters_.Pin(std::move(pinned));
}

void OpenedCounts::Configure(size_t max_applications,
                             std::set<std::string, std::less<>> pinned) {
  MutexLock lock(&mu_);
  counters_.Pin(std::move(pinned));
  counters_.SetMaxLabels(max_applications);
}

namespace {

// "pid:µs" as two numbers, without allocating.
bool ParseIdentity(std::string_view id, std::pair<int64_t, int64_t>* out) {
  const size_t colon = id.find(':');
  if (colon == std::string_view::npos) return false;
  const char* end = id.data() + id.size();
  auto a = std::from_chars(id.data(), id.data() + colon, out->first);
  auto b = std::from_chars(id.data() + colon + 1, end, out->second);
  return a.ec == std::errc() && a.ptr == id.data() + colon &&
         b.ec == std::errc() && b.ptr == end;
}

}  // namespace

void OpenedCounts::Scan(const Activity& activity) {
  std::vector<std::pair<int64_t, int64_t>> seen;
  seen.reserve(activity.recent.size());
  std::unordered_set<std::string> seen_text;
  MutexLock lock(&mu_);
  for (const RecentBackend& b : activity.recent) {
    std::pair<int64_t, int64_t> id;
    bool before;
    if (ParseIdentity(b.identity, &id)) {
      seen.push_back(id);
      before = std::binary_search(previous_.begin(), previous_.end(), id);
    } else {
      seen_text.insert(b.identity);
      before = previous_text_.count(b.identity) > 0;
    }
    counters_.Add(b.application, scanned_ && !before ? 1 : 0);
  }
  // Every application present has a series, with 0 until it opens one, so
  // that rate() sees its first increase.
  for (const ActivityGroup& g : activity.groups)
    counters_.Add(g.application, 0);
  std::sort(seen.begin(), seen.end());
  previous_ = std::move(seen);
  previous_text_ = std::move(seen_text);
  scanned_ = true;
}

std::map<std::string, uint64_t> OpenedCounts::Totals() const {
  MutexLock lock(&mu_);
  return counters_.Values();
}

namespace {

class ConnectionsOpenedStage final : public SignalStage {
 public:
  explicit ConnectionsOpenedStage(std::shared_ptr<OpenedCounts> counts)
      : counts_(std::move(counts)) {}

  void Derive(Snapshot* snap) const override {
    // A poll whose activity scan failed (or was switched off) keeps the
    // counters, and the identities, as they were.
    const auto* activity = snap->Find<Activity>();
    if (activity != nullptr) counts_->Scan(*activity);
    // The identities are read here only: the snapshot is kept until the
    // next poll (by the poller and the publisher), and in a fleet just
    // started, or on a server with much churn, they are most of it (one
    // string per backend that started in the last two minutes).
    // Consumed here, while the snapshot is built and not shared yet
    // (Activity::recent is mutable for this).
    if (activity != nullptr)
      std::vector<RecentBackend>().swap(activity->recent);
    snap->Put(ConnectionsOpened{counts_->Totals()});
  }

  void Emit(const Snapshot& snap, const EmitContext& ctx,
            MetricsWriter* w) const override {
    const auto* opened = snap.Find<ConnectionsOpened>();
    if (opened == nullptr) return;
    for (const auto& [app, n] : opened->totals) {
      w->Counter("pgconn_connections_opened_total",
                 "Client backends that appeared in pg_stat_activity since the "
                 "previous poll (by pid and backend_start, after their "
                 "login), summed over polls since the agent started: a lower "
                 "bound (sessions opened and closed between two polls are "
                 "missed; the first poll counts none).",
                 WithLabel(ctx.target, "application", app),
                 static_cast<double>(n));
    }
  }

 private:
  const std::shared_ptr<OpenedCounts> counts_;
};

}  // namespace

std::unique_ptr<SignalStage> NewConnectionsOpenedStage(
    std::shared_ptr<OpenedCounts> counts) {
  return std::make_unique<ConnectionsOpenedStage>(std::move(counts));
}

}  // namespace pgconn
