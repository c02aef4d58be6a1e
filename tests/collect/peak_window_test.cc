#include "collect/peak_window.h"

#include <gtest/gtest.h>

namespace pgconn {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(PeakWindowTest, KeepsTheHighestWithinTheWindow) {
  PeakWindow w(seconds(60));
  const PeakWindow::TimePoint t0{};
  EXPECT_EQ(w.Max(), 0);
  // One poll per second: 10, then a 2 s spike of 60, then 10 again.
  for (int s = 0; s < 120; ++s) {
    const double v = (s == 30 || s == 31) ? 60 : 10;
    w.Add(t0 + seconds(s), v);
    if (s >= 30 && s <= 91) {
      EXPECT_EQ(w.Max(), 60) << "at " << s << " s";
    } else {
      EXPECT_EQ(w.Max(), 10) << "at " << s << " s";
    }
    // A monotonic deque: never more samples than polls in the window.
    EXPECT_LE(w.size(), 62u);
  }
}

TEST(PeakWindowTest, DecreasingValuesStayBounded) {
  PeakWindow w(milliseconds(5000));
  const PeakWindow::TimePoint t0{};
  for (int i = 0; i < 1000; ++i) w.Add(t0 + milliseconds(i * 100), 1000 - i);
  EXPECT_LE(w.size(), 52u);
  EXPECT_EQ(w.Max(), 1000 - 949);  // the oldest sample still in the window
}

TEST(KeyedPeakWindowsTest, KeysComeAndGo) {
  KeyedPeakWindows w(seconds(10));
  const PeakWindow::TimePoint t0{};
  w.Add(t0, {{"web", 5}, {"bot", 1}});
  w.Add(t0 + seconds(1), {{"web", 2}});  // bot gone: its peak stays
  auto p = w.Peaks();
  EXPECT_EQ(p.at("web"), 5);
  EXPECT_EQ(p.at("bot"), 1);
  w.Add(t0 + seconds(12), {{"web", 2}});  // both older peaks expired
  p = w.Peaks();
  EXPECT_EQ(p.at("web"), 2);
  EXPECT_EQ(p.count("bot"), 0u);
}

}  // namespace
}  // namespace pgconn
