#include "postgres/used_history.h"

#include <algorithm>
#include <chrono>

#include "postgres/signals.h"

namespace pgconn {

void UsedHistoryBuffer::Add(int64_t unix_ms, int64_t used) {
  MutexLock lock(&mu_);
  while (!samples_.empty() && samples_.back().unix_ms > unix_ms) {
    samples_.pop_back();
  }
  if (!samples_.empty() && samples_.back().unix_ms / 1000 == unix_ms / 1000) {
    UsedSample& last = samples_.back();
    last.used = std::max(last.used, used);
    last.unix_ms = unix_ms;
  } else {
    samples_.push_back({unix_ms, used});
  }
  while (samples_.front().unix_ms < unix_ms - kUsedHistorySpanMs ||
         samples_.size() > kUsedHistoryCapacity) {
    samples_.pop_front();
  }
}

std::vector<UsedSample> UsedHistoryBuffer::Samples() const {
  MutexLock lock(&mu_);
  return {samples_.begin(), samples_.end()};
}

namespace {

class UsedHistoryStage final : public SignalStage {
 public:
  UsedHistoryStage(const Clock& clock, double poll_interval_seconds,
                   std::shared_ptr<UsedHistoryBuffer> buffer)
      : clock_(clock),
        poll_interval_seconds_(poll_interval_seconds),
        buffer_(buffer ? std::move(buffer)
                       : std::make_shared<UsedHistoryBuffer>()) {}

  void Derive(Snapshot* snap) const override {
    if (const auto* s = snap->Find<ConnectionSignals>(); s != nullptr) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
          clock_.Now().time_since_epoch());
      buffer_->Add(ms.count(), s->used);
    }
    snap->Put(UsedHistory{buffer_->Samples(), poll_interval_seconds_});
  }

  void Emit(const Snapshot&, const EmitContext&,
            MetricsWriter*) const override {}

 private:
  const Clock& clock_;
  const double poll_interval_seconds_;
  const std::shared_ptr<UsedHistoryBuffer> buffer_;  // thread-safe
};

}  // namespace

std::unique_ptr<SignalStage> NewUsedHistoryStage(
    const Clock& clock, double poll_interval_seconds,
    std::shared_ptr<UsedHistoryBuffer> buffer) {
  return std::make_unique<UsedHistoryStage>(clock, poll_interval_seconds,
                                            std::move(buffer));
}

}  // namespace pgconn
