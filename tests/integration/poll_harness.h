// One target's poller over a real libpq session, with its published
// exposition at hand: what the integration tests poll a server with.
#ifndef PGCONN_TESTS_INTEGRATION_POLL_HARNESS_H_
#define PGCONN_TESTS_INTEGRATION_POLL_HARNESS_H_

#include <map>
#include <sstream>
#include <string>

#include "integration/exposition_parser.h"
#include "pgconn/session.h"
#include "runtime/poller.h"

namespace pgconn::testing {

// Polls on the calling thread (Poll()); not thread-safe.
class PollHarness {
 public:
  explicit PollHarness(TargetConfig target, PollerOptions options = Defaults())
      : logger_(&log_, LogLevel::kDebug, LogFormat::kLogfmt, &clock_),
        publisher_(RenderBuildInfo(BuildInfo{"test", "test"})),
        poller_(std::move(target), options, sessions_, clock_, logger_,
                &publisher_) {}

  // A poll every 200 ms, 3 s to connect or to answer.
  static PollerOptions Defaults() {
    PollerOptions o;
    o.poll_interval = Duration(200);
    o.connect_timeout = Duration(3000);
    o.query_timeout = Duration(3000);
    return o;
  }

  TargetReport Poll() { return poller_.PollOnce(); }
  std::map<std::string, double> Samples() {
    return ParseSamples(publisher_.Current()->text());
  }
  // One series' value, -1 when it is absent.
  double Sample(const std::string& series) {
    auto all = Samples();
    auto it = all.find(series);
    return it == all.end() ? -1 : it->second;
  }
  std::string Text() { return publisher_.Current()->text(); }
  std::string Log() { return log_.str(); }

 private:
  SystemClock clock_;
  std::ostringstream log_;
  Logger logger_;
  PgSessionFactory sessions_;
  Publisher publisher_;
  TargetPoller poller_;
};

}  // namespace pgconn::testing

#endif  // PGCONN_TESTS_INTEGRATION_POLL_HARNESS_H_
