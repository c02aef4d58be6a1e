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
  Schedule(job.due, id);
  if (keeper_ == nullptr) {
    // Nobody keeps time: an idle worker takes it, or, if every worker is
    // busy (or there is none yet), the dispatcher decides.
    if (!idle_.empty()) {
      WakeIdle(1);
    } else {
      dispatch_cv_.notify_one();
    }
  }
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

void PollScheduler::TakeDue(Clock::time_point until) {
  while (!timeline_.empty() && timeline_.begin()->first <= until) {
    ready_.push_back(*timeline_.begin());
    timeline_.erase(timeline_.begin());
  }
}

void PollScheduler::Wake(Waiter* w) {
  idle_.erase(std::find(idle_.begin(), idle_.end(), w));
  if (keeper_ == w) keeper_ = nullptr;
  w->woken = true;
  w->cv.notify_one();
}

void PollScheduler::WakeIdle(size_t n) {
  for (size_t i = 0; i < n && !idle_.empty(); ++i) Wake(idle_.back());
}

void PollScheduler::Dispatch() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!shutdown_) {
    dispatcher_wake_ = Clock::time_point::min();  // awake: looks at all
    JoinExited(&lock);
    if (shutdown_) break;
    const Clock::time_point now = Clock::now();
    // Jobs that poll now or wait for a worker: a cap on the pool.
    const size_t cap =
        std::max<size_t>(std::min(jobs_.size(), options_.max_workers), 1);
    const size_t floor = std::min(options_.min_workers, cap);
    // The keeper (an idle worker) takes the due polls. What is due and
    // was not taken within `late` (every worker busy), or anything due
    // while the pool is below its minimum (at start), goes to ready_ here.
    TakeDue(workers_ < floor ? now : now - options_.late);
    Clock::time_point wake = Clock::time_point::max();
    if (!timeline_.empty()) wake = timeline_.begin()->first + options_.late;
    if (!ready_.empty()) {
      if (!idle_.empty()) {
        WakeIdle(ready_.size());
      } else if (workers_ < floor) {
        // Below the minimum: a worker per waiting poll, at once.
        const size_t n = std::min(floor - workers_, ready_.size());
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
    TakeDue(Clock::now());
    if (ready_.empty()) {
      // Idle workers wait on a stack: the last one in is woken first, so
      // that work gathers on few threads and the others time out and leave.
      // One of them, the keeper, sleeps only until the next poll is due and
      // then takes it: a poll costs one thread wake-up, not a dispatcher's
      // and then a worker's.
      Waiter me;
      idle_.push_back(&me);
      const Clock::time_point idle_until = Clock::now() + options_.idle_exit;
      Clock::time_point until = idle_until;
      if (keeper_ == nullptr) {
        keeper_ = &me;
        if (!timeline_.empty()) {
          until = std::min(until, timeline_.begin()->first);
        }
        keeper_until_ = until;
      }
      me.cv.wait_until(lock, until, [&] { return shutdown_ || me.woken; });
      if (keeper_ == &me) keeper_ = nullptr;
      if (!me.woken) idle_.erase(std::find(idle_.begin(), idle_.end(), &me));
      if (!me.woken && until == idle_until && Clock::now() >= idle_until &&
          workers_ > options_.min_workers) {
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
    // More due than this worker takes: another one for the rest.
    if (!ready_.empty()) WakeIdle(1);
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
      Schedule(job.due, id);
    }
    // A poll that threw went to the job's handler: it polls no more, as a
    // poller thread that ended would.
  }
}

void PollScheduler::Schedule(Clock::time_point due, JobId id) {
  timeline_.emplace(due, id);
  // Whoever keeps time is woken only when this poll is due before it wakes
  // anyway: not once per poll (a fleet polls 100 times a second).
  if (keeper_ != nullptr && due < keeper_until_) Wake(keeper_);
  if (due + options_.late < dispatcher_wake_) dispatch_cv_.notify_one();
}

}  // namespace pgconn
