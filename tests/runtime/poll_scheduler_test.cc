#include "runtime/poll_scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "integration/eventually.h"

namespace pgconn {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

using testing::Eventually;

ThreadFailureHandler Unexpected() {
  return [](std::string_view thread, std::string_view what) {
    ADD_FAILURE() << thread << ": " << what;
  };
}

TEST(PollSchedulerTest, ManyJobsPollOnTheMinimumOfWorkers) {
  PollSchedulerOptions o;
  o.min_workers = 2;
  o.late = std::chrono::hours(1);  // no growth, however loaded the machine
  PollScheduler s(Unexpected(), o);
  constexpr int kJobs = 200;
  std::vector<std::atomic<int>> polls(kJobs);
  std::vector<PollScheduler::JobId> ids;
  for (int i = 0; i < kJobs; ++i) {
    ids.push_back(s.Add(
        "poller:t" + std::to_string(i),
        [&polls, i] {
          ++polls[static_cast<size_t>(i)];
          return milliseconds(20);
        },
        Unexpected()));
  }
  ASSERT_TRUE(Eventually([&] {
    for (const auto& p : polls) {
      if (p.load() < 5) return false;
    }
    return true;
  }));
  // 200 jobs on the two workers, which never wait past `late`.
  EXPECT_EQ(s.peak_workers(), 2u);
  for (PollScheduler::JobId id : ids) s.Remove(id);
  std::vector<int> after;
  for (const auto& p : polls) after.push_back(p.load());
  std::this_thread::sleep_for(milliseconds(60));
  for (int i = 0; i < kJobs; ++i) {
    EXPECT_EQ(polls[static_cast<size_t>(i)].load(),
              after[static_cast<size_t>(i)])
        << "job " << i << " polled after Remove";
  }
}

TEST(PollSchedulerTest, HungPollsGrowThePoolSoOthersKeepTheirPace) {
  PollSchedulerOptions o;
  o.min_workers = 1;
  o.late = milliseconds(20);
  o.idle_exit = milliseconds(100);
  PollScheduler s(Unexpected(), o);
  std::atomic<bool> release{false};
  std::atomic<int> hung_started{0};
  std::atomic<int> healthy{0};
  std::vector<PollScheduler::JobId> hung;
  for (int i = 0; i < 3; ++i) {
    hung.push_back(s.Add(
        "poller:hung" + std::to_string(i),
        [&] {
          ++hung_started;
          while (!release.load()) std::this_thread::sleep_for(milliseconds(1));
          return milliseconds(10000);
        },
        Unexpected()));
  }
  const PollScheduler::JobId ok = s.Add(
      "poller:ok",
      [&] {
        ++healthy;
        return milliseconds(5);
      },
      Unexpected());
  // Three workers hang and a fourth serves the healthy job.
  ASSERT_TRUE(Eventually([&] { return hung_started.load() == 3; }));
  ASSERT_TRUE(Eventually([&] { return healthy.load() >= 20; }));
  EXPECT_EQ(s.peak_workers(), 4u);
  release = true;
  // Idle workers leave, down to the minimum.
  ASSERT_TRUE(Eventually([&] { return s.workers() == 1; }));
  for (PollScheduler::JobId id : hung) s.Remove(id);
  s.Remove(ok);
}

// The keeper, an idle worker, takes each due poll itself: with `late` an
// hour the dispatcher never hands one out, and the polls still keep their
// pace. And while the keeper is stuck in a poll, a poll it cannot take is
// handed to the other worker once it waited `late`.
TEST(PollSchedulerTest, TheKeeperTakesDuePollsAndTheDispatcherWhatItCannot) {
  {
    PollSchedulerOptions o;
    o.min_workers = 1;
    o.late = std::chrono::hours(1);
    PollScheduler s(Unexpected(), o);
    std::atomic<int> polls{0};
    const auto start = steady_clock::now();
    const PollScheduler::JobId id = s.Add(
        "poller:paced",
        [&] {
          ++polls;
          return milliseconds(10);
        },
        Unexpected());
    ASSERT_TRUE(Eventually([&] { return polls.load() >= 20; }));
    // 20 polls 10 ms apart: well under the hour the dispatcher would wait.
    EXPECT_LT(steady_clock::now() - start, std::chrono::seconds(30));
    s.Remove(id);
  }
  {
    PollSchedulerOptions o;
    o.min_workers = 2;
    o.late = milliseconds(30);
    PollScheduler s(Unexpected(), o);
    std::atomic<bool> release{false};
    std::atomic<bool> stuck{false};
    std::atomic<int> other{0};
    const PollScheduler::JobId slow = s.Add(
        "poller:slow",
        [&] {
          stuck = true;
          while (!release.load()) std::this_thread::sleep_for(milliseconds(1));
          return milliseconds(100000);
        },
        Unexpected());
    ASSERT_TRUE(Eventually([&] { return stuck.load(); }));
    const PollScheduler::JobId fast = s.Add(
        "poller:fast",
        [&] {
          ++other;
          return milliseconds(5);
        },
        Unexpected());
    ASSERT_TRUE(Eventually([&] { return other.load() >= 10; }));
    EXPECT_EQ(s.peak_workers(), 2u);
    release = true;
    s.Remove(slow);
    s.Remove(fast);
  }
}

TEST(PollSchedulerTest, RemoveWaitsForThePollInFlight) {
  PollScheduler s(Unexpected());
  std::atomic<bool> in_poll{false};
  std::atomic<bool> done{false};
  const PollScheduler::JobId id = s.Add(
      "poller:slow",
      [&] {
        in_poll = true;
        std::this_thread::sleep_for(milliseconds(50));
        done = true;
        return milliseconds(1000);
      },
      Unexpected());
  ASSERT_TRUE(Eventually([&] { return in_poll.load(); }));
  s.Remove(id);
  EXPECT_TRUE(done.load());
  s.Remove(id);  // again: a no-op
}

TEST(PollSchedulerTest, AThrowingPollGoesToItsHandlerAndPollsNoMore) {
  PollScheduler s(Unexpected());
  std::mutex mu;
  std::vector<std::string> failures;
  std::atomic<int> polls{0};
  std::atomic<int> others{0};
  const PollScheduler::JobId bad = s.Add(
      "poller:bad",
      [&]() -> steady_clock::duration {
        ++polls;
        throw std::runtime_error("boom");
      },
      [&](std::string_view thread, std::string_view what) {
        std::lock_guard<std::mutex> lock(mu);
        failures.push_back(std::string(thread) + ": " + std::string(what));
      });
  const PollScheduler::JobId good = s.Add(
      "poller:good",
      [&] {
        ++others;
        return milliseconds(2);
      },
      Unexpected());
  ASSERT_TRUE(Eventually([&] { return others.load() >= 10; }));
  EXPECT_EQ(polls.load(), 1);
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_EQ(failures.size(), 1u);
    EXPECT_EQ(failures[0], "poller:bad: boom");
  }
  s.Remove(bad);
  s.Remove(good);
}

}  // namespace
}  // namespace pgconn
