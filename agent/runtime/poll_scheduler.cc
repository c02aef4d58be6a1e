#include "runtime/poll_scheduler.h"

#include <algorithm>

namespace pgconn {

PollScheduler::PollScheduler(ThreadFailureHandler on_failure,
                             PollSchedulerOptions options)
    : on_failure_(std::move(on_failure)), options_(options) {
  dispatcher_ = std::thread([this] {
    RunGuarded("poll-dispatcher", on_failure_, [this] { Dispatch(); });
  });
}

PollScheduler::~PollScheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
  }
  dispatch_cv_.notify_all();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Waiter* w : idle_) w->cv.notify_one();
  }
  if (dispatcher_.joinable()) dispatcher_.join();
  std::map<std::thread::id, std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    threads.swap(threads_);
  }
  for (auto& [id, t] : threads) t.join();
}

PollScheduler::JobId PollScheduler::Add(std::string name, Poll poll,
                                        ThreadFailureHandler on_failure) {
  std::lock_guard<std::mutex> lock(mu_);
  const JobId id = next_id_++;
  Job& job = jobs_[id];
  job.name = std::move(name);
  job.poll = std::move(poll);
  job.on_failure = std::move(on_failure);
  job.due = Clock::now();
  timeline_.emplace(job.due, id);
  dispatch_cv_.notify_one();
  return id;
}

void PollScheduler::Remove(JobId id) {
  std::unique_lock<std::mutex> lock(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  it->second.removed = true;
  timeline_.erase({it->second.due, id});
  // A stale entry in ready_ is skipped by the worker that finds it.
  done_cv_.wait(lock, [&] { return !it->second.running; });
  jobs_.erase(it);
}

size_t PollScheduler::workers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return workers_;
}

size_t PollScheduler::peak_workers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peak_workers_;
}

void PollScheduler::SpawnWorker() {
  std::thread t(
      [this] { RunGuarded("poll-worker", on_failure_, [this] { Work(); }); });
  const std::thread::id id = t.get_id();
  threads_.emplace(id, std::move(t));
  ++workers_;
  peak_workers_ = std::max(peak_workers_, workers_);
  last_spawn_ = Clock::now();
}

void PollScheduler::JoinExited(std::unique_lock<std::mutex>* lock) {
  if (exited_.empty()) return;
  std::vector<std::thread> done;
  for (const std::thread::id id : exited_) {
    auto it = threads_.find(id);
    if (it == threads_.end()) continue;
    done.push_back(std::move(it->second));
    threads_.erase(it);
  }
  exited_.clear();
  lock->unlock();
  for (std::thread& t : done) t.join();
  lock->lock();
}

void PollScheduler::Dispatch() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutdown_) {
    dispatcher_wake_ = Clock::time_point::min();  // awake: looks at all
    JoinExited(&lock);
    if (shutdown_) break;
    const Clock::time_point now = Clock::now();
    while (!timeline_.empty() && timeline_.begin()->first <= now) {
      const auto [due, id] = *timeline_.begin();
      timeline_.erase(timeline_.begin());
      ready_.emplace_back(due, id);
    }
    Clock::time_point wake = Clock::time_point::max();
    if (!timeline_.empty()) wake = timeline_.begin()->first;
    // Jobs that poll now or wait for a worker: a cap on the pool.
    const size_t cap =
        std::max<size_t>(std::min(jobs_.size(), options_.max_workers), 1);
    if (!ready_.empty()) {
      if (!idle_.empty()) {
        const size_t n = std::min(idle_.size(), ready_.size());
        for (size_t i = 0; i < n; ++i) {
          Waiter* w = idle_.back();
          idle_.pop_back();
          w->woken = true;
          w->cv.notify_one();
        }
      } else if (workers_ < std::min(options_.min_workers, cap)) {
        // Below the minimum: a worker per waiting poll, at once.
        const size_t n = std::min(
            std::min(options_.min_workers, cap) - workers_, ready_.size());
        for (size_t i = 0; i < n; ++i) SpawnWorker();
      } else if (workers_ < cap) {
        // Every worker busy: one more once the oldest waiting poll is late,
        // and at most one per `late`.
        const Clock::time_point at = std::max(
            ready_.front().first + options_.late, last_spawn_ + options_.late);
        if (now >= at) SpawnWorker();
      }
      // Look again when the oldest could be late (none may be by then).
      if (workers_ < cap) {
        wake = std::min(wake, std::max(ready_.front().first + options_.late,
                                       last_spawn_ + options_.late));
      }
    }
    dispatcher_wake_ = wake;
    if (wake == Clock::time_point::max()) {
      dispatch_cv_.wait(lock);
    } else {
      dispatch_cv_.wait_until(lock, wake);
    }
  }
}

void PollScheduler::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutdown_) {
    if (ready_.empty()) {
      // Idle workers wait on a stack: the last one in is woken first, so
      // that work gathers on few threads and the others time out and leave.
      Waiter me;
      idle_.push_back(&me);
      const bool woken = me.cv.wait_for(lock, options_.idle_exit,
                                        [&] { return shutdown_ || me.woken; });
      if (!me.woken) idle_.erase(std::find(idle_.begin(), idle_.end(), &me));
      if (!woken && workers_ > options_.min_workers) {
        // Idle for long: one thread fewer (the dispatcher joins it).
        --workers_;
        exited_.push_back(std::this_thread::get_id());
        dispatch_cv_.notify_one();
        return;
      }
      continue;
    }
    const JobId id = ready_.front().second;
    ready_.pop_front();
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second.removed) continue;
    Job& job = it->second;  // stays put: Remove waits while it runs
    job.running = true;
    lock.unlock();
    Clock::duration next{};
    const bool ok =
        RunGuarded(job.name, job.on_failure, [&] { next = job.poll(); });
    lock.lock();
    job.running = false;
    if (job.removed) {
      done_cv_.notify_all();
    } else if (ok) {
      job.due = Clock::now() + std::max(next, Clock::duration::zero());
      timeline_.emplace(job.due, id);
      // The dispatcher is woken only when this poll is due before it
      // wakes anyway: not once per poll (a fleet polls 100 times a second).
      if (job.due < dispatcher_wake_) dispatch_cv_.notify_one();
    }
    // A poll that threw went to the job's handler: it polls no more, as a
    // poller thread that ended would.
  }
}

}  // namespace pgconn
