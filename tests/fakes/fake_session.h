// A scripted Session: tests decide what connecting and each query return.
#ifndef PGCONN_TESTS_FAKES_FAKE_SESSION_H_
#define PGCONN_TESTS_FAKES_FAKE_SESSION_H_

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pgconn/session.h"

namespace pgconn {

// State shared between a FakeSessionFactory, the sessions it creates and the
// test. Sessions lock `mu` around every access, so several pollers may share
// one server; the test reads the fields once the pollers have stopped.
struct FakeServer {
  std::mutex mu;
  // Consumed one per Connect(); an empty queue means success.
  std::deque<Status> connect_results;
  // Answers every Execute(); default: an error.
  std::function<Result<std::vector<ResultSet>>(std::string_view sql)> answer =
      [](std::string_view) -> Result<std::vector<ResultSet>> {
    return Status(StatusCode::kQueryFailed, "no answer scripted");
  };
  int connects = 0;
  int open_connections = 0;
  int max_open_connections = 0;
  std::vector<std::string> queries;
  int server_version = 150000;
  // Whether sessions keep prepared statements (as PgSession does).
  bool prepares = false;
  SessionOptions last_options;
};

class FakeSession final : public Session {
 public:
  explicit FakeSession(FakeServer* server) : server_(server) {}
  ~FakeSession() override { Close(); }

  Status Connect(Deadline) override {
    std::lock_guard<std::mutex> l(server_->mu);
    if (connected_) return Status::Ok();
    ++server_->connects;
    if (!server_->connect_results.empty()) {
      Status s = server_->connect_results.front();
      server_->connect_results.pop_front();
      if (!s.ok()) return s;
    }
    connected_ = true;
    ++server_->open_connections;
    server_->max_open_connections =
        std::max(server_->max_open_connections, server_->open_connections);
    return Status::Ok();
  }
  bool connected() const override { return connected_; }
  Result<std::vector<ResultSet>> Execute(std::string_view sql,
                                         Deadline) override {
    std::lock_guard<std::mutex> l(server_->mu);
    if (!connected_)
      return Status(StatusCode::kConnectionLost, "not connected");
    server_->queries.emplace_back(sql);
    auto r = server_->answer(sql);
    if (!r.ok() && (r.status().code() == StatusCode::kConnectionLost ||
                    r.status().code() == StatusCode::kDeadlineExceeded)) {
      CloseLocked();
    }
    return r;
  }
  void Close() override {
    std::lock_guard<std::mutex> l(server_->mu);
    CloseLocked();
  }
  int server_version() const override {
    return connected_ ? server_->server_version : 0;
  }
  PreparedStatements* prepared_statements() override {
    std::lock_guard<std::mutex> l(server_->mu);
    return server_->prepares ? &prepared_ : nullptr;
  }

 private:
  void CloseLocked() {
    if (connected_) --server_->open_connections;
    connected_ = false;
    prepared_ = {};
  }
  FakeServer* server_;
  bool connected_ = false;
  PreparedStatements prepared_;
};

class FakeSessionFactory final : public SessionFactory {
 public:
  explicit FakeSessionFactory(FakeServer* server) : server_(server) {}
  std::unique_ptr<Session> Create(
      const TargetConfig&, const SessionOptions& options) const override {
    std::lock_guard<std::mutex> l(server_->mu);
    server_->last_options = options;
    return std::make_unique<FakeSession>(server_);
  }

 private:
  FakeServer* server_;
};

}  // namespace pgconn

#endif  // PGCONN_TESTS_FAKES_FAKE_SESSION_H_
