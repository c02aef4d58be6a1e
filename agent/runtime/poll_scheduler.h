// Runs the polls of many targets on a few threads. A target's poll is
// blocking work (a connect, a batch of statements, each bounded by its
// timeout), so the scheduler keeps a small pool of workers. One idle
// worker, the keeper, sleeps until the next poll is due and takes it (one
// thread wake-up per poll); a dispatcher thread hands out what was due for
// `late` and not taken (every worker busy) and grows the pool. The pool
// grows only when polls wait: when every worker is busy and the oldest due
// poll has waited `late` (targets that hang until their timeouts), one more
// worker, at most one per `late`, never more than one per job nor
// `max_workers`; a worker that had nothing to do for `idle_exit` leaves
// while more than `min_workers` remain. So the threads follow the polls in
// flight, not the targets: a fleet of healthy targets polls on `min_workers`
// threads.
#ifndef PGCONN_AGENT_RUNTIME_POLL_SCHEDULER_H_
#define PGCONN_AGENT_RUNTIME_POLL_SCHEDULER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "pgconn/thread_guard.h"

namespace pgconn {

struct PollSchedulerOptions {
  size_t min_workers = 4;
  // More threads do not make an overloaded server answer sooner: past
  // this, due polls wait their turn (a target's interval stretches).
  size_t max_workers = 32;
  std::chrono::milliseconds late{200};
  std::chrono::milliseconds idle_exit{30000};
};

// Thread-safe.
class PollScheduler {
 public:
  using JobId = uint64_t;
  // One poll; returns how long after its return the next one is due.
  using Poll = std::function<std::chrono::steady_clock::duration()>;

  // `on_failure` is for the scheduler's own threads ("poll-dispatcher",
  // "poll-worker"); each job names its own.
  explicit PollScheduler(ThreadFailureHandler on_failure,
                         PollSchedulerOptions options = {});
  // Stops and joins every thread; a poll in flight runs to its end first.
  ~PollScheduler();
  PollScheduler(const PollScheduler&) = delete;
  PollScheduler& operator=(const PollScheduler&) = delete;

  // Adds a job whose first poll is due now. A poll that throws goes to
  // `on_failure` with `name` (RunGuarded), and the job polls no more.
  JobId Add(std::string name, Poll poll, ThreadFailureHandler on_failure);

  // The job polls no more: waits for its poll in flight, if any, to end.
  // Stop what the poll waits on first (its interrupt flag) so that this is
  // quick. A no-op for an unknown or already removed job.
  void Remove(JobId id);

  // The worker threads now, and the most there ever were.
  size_t workers() const;
  size_t peak_workers() const;

 private:
  struct Job {
    std::string name;
    Poll poll;
    ThreadFailureHandler on_failure;
    std::chrono::steady_clock::time_point due;  // while in timeline_
    bool running = false;
    bool removed = false;
  };
  using Clock = std::chrono::steady_clock;

  void Dispatch();
  void Work();
  struct Waiter;
  // mu_ held, all four.
  void TakeDue(Clock::time_point until);  // timeline_ -> ready_
  void Wake(Waiter* w);     // an idle worker: off idle_, to look again
  void WakeIdle(size_t n);  // hands work to the n latest idle workers
  void Schedule(Clock::time_point due, JobId id);  // into timeline_
  void SpawnWorker();                              // mu_ held
  void JoinExited(std::unique_lock<std::mutex>* lock);

  const ThreadFailureHandler on_failure_;
  const PollSchedulerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable dispatch_cv_;  // the dispatcher waits here
  std::condition_variable done_cv_;      // Remove waits here
  std::map<JobId, Job> jobs_;
  std::set<std::pair<Clock::time_point, JobId>> timeline_;
  std::deque<std::pair<Clock::time_point, JobId>> ready_;  // due, in order
  JobId next_id_ = 1;
  bool shutdown_ = false;
  size_t workers_ = 0;
  size_t peak_workers_ = 0;
  struct Waiter {
    std::condition_variable cv;
    bool woken = false;  // handed work (taken off idle_)
  };
  std::vector<Waiter*> idle_;  // idle workers, the latest last
  // The idle worker that sleeps until the next poll is due (keeper_until_)
  // and takes it; null while none does (every worker busy, or the keeper
  // just took a poll).
  Waiter* keeper_ = nullptr;
  Clock::time_point keeper_until_{};
  Clock::time_point last_spawn_{};
  // When the waiting dispatcher wakes by itself (max: not before it is
  // notified); min while it is awake. It wakes `late` after the next due
  // poll, to hand out what the keeper did not take.
  Clock::time_point dispatcher_wake_ = Clock::time_point::min();
  std::map<std::thread::id, std::thread> threads_;
  std::vector<std::thread::id> exited_;
  std::thread dispatcher_;
};

}  // namespace pgconn

#endif  // PGCONN_AGENT_RUNTIME_POLL_SCHEDULER_H_
