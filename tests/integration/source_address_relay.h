// A TCP relay that reaches a server from a chosen loopback source address,
// so that tests can show PostgreSQL clients on several client addresses.
//
// libpq cannot bind its socket to a source address, and Linux gives a
// connection to 127.0.0.2 the source address 127.0.0.1 (the preferred
// source of the `local 127.0.0.0/8` route), so the server would see every
// client as 127.0.0.1. The relay accepts on 127.0.0.1 and opens each
// upstream connection from a socket bound to the chosen address: the server
// sees that address in pg_stat_activity.client_addr, as it would see a
// worker on another host.
#ifndef PGCONN_TESTS_INTEGRATION_SOURCE_ADDRESS_RELAY_H_
#define PGCONN_TESTS_INTEGRATION_SOURCE_ADDRESS_RELAY_H_

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pgconn/status.h"

namespace pgconn::testing {

// Owns a thread that copies bytes both ways for every accepted connection.
// The destructor stops the thread and closes every socket. Not copyable;
// its methods are called from the test thread only.
class SourceAddressRelay {
 public:
  // `first_bytes_delay`: the client's bytes reach the server only that
  // long after the relay accepted it (the upstream connection is opened at
  // once): a client that connects, then waits before its startup packet,
  // as a slow link or a slow TLS or SCRAM client does.
  static Result<std::unique_ptr<SourceAddressRelay>> Start(
      const std::string& source_address, const std::string& server_address,
      int server_port,
      std::chrono::milliseconds first_bytes_delay =
          std::chrono::milliseconds(0));
  ~SourceAddressRelay();
  SourceAddressRelay(const SourceAddressRelay&) = delete;
  SourceAddressRelay& operator=(const SourceAddressRelay&) = delete;

  // The relay listens on 127.0.0.1:port().
  int port() const { return port_; }
  const std::string& source_address() const { return source_; }

 private:
  SourceAddressRelay() = default;
  void Run();
  int Upstream() const;

  std::string source_;
  std::string server_address_;
  int server_port_ = 0;
  std::chrono::milliseconds first_bytes_delay_{0};
  int listen_fd_ = -1;
  int port_ = 0;
  int wake_[2] = {-1, -1};  // a byte on wake_[1] stops Run()
  std::thread thread_;
};

}  // namespace pgconn::testing

#endif  // PGCONN_TESTS_INTEGRATION_SOURCE_ADDRESS_RELAY_H_
