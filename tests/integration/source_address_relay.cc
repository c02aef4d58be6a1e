#include "integration/source_address_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace pgconn::testing {
namespace {

sockaddr_in Address(const std::string& ip, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

bool WriteAll(int fd, const char* data, ssize_t n) {
  while (n > 0) {
    const ssize_t w = send(fd, data, static_cast<size_t>(n), MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= w;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<SourceAddressRelay>> SourceAddressRelay::Start(
    const std::string& source_address, const std::string& server_address,
    int server_port, std::chrono::milliseconds first_bytes_delay) {
  std::unique_ptr<SourceAddressRelay> r(new SourceAddressRelay());
  r->first_bytes_delay_ = first_bytes_delay;
  r->source_ = source_address;
  r->server_address_ = server_address;
  r->server_port_ = server_port;
  if (pipe(r->wake_) != 0) return Status::IoError("pipe failed");
  r->listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in any = Address("127.0.0.1", 0);
  socklen_t len = sizeof(any);
  if (r->listen_fd_ < 0 ||
      bind(r->listen_fd_, reinterpret_cast<sockaddr*>(&any), len) != 0 ||
      listen(r->listen_fd_, 64) != 0 ||
      getsockname(r->listen_fd_, reinterpret_cast<sockaddr*>(&any), &len) !=
          0) {
    return Status::IoError(std::string("relay listen: ") +
                           std::strerror(errno));
  }
  r->port_ = ntohs(any.sin_port);
  // Fail early if the source address cannot be bound on this machine.
  const int probe = r->Upstream();
  if (probe < 0) {
    return Status::IoError("relay: cannot reach " + server_address + ":" +
                           std::to_string(server_port) + " from " +
                           source_address + ": " + std::strerror(errno));
  }
  close(probe);
  r->thread_ = std::thread([relay = r.get()] { relay->Run(); });
  return r;
}

int SourceAddressRelay::Upstream() const {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in from = Address(source_, 0);
  sockaddr_in to = Address(server_address_, server_port_);
  if (fd < 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    const int saved = errno;
    if (fd >= 0) close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

void SourceAddressRelay::Run() {
  using Clock = std::chrono::steady_clock;
  struct Pair {
    int first;                      // client
    int second;                     // upstream
    Clock::time_point client_from;  // the client's bytes wait until then
  };
  std::vector<Pair> pairs;
  auto close_pair = [](const Pair& p) {
    close(p.first);
    close(p.second);
  };
  for (;;) {
    std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    const auto now = Clock::now();
    int timeout_ms = -1;
    for (const Pair& p : pairs) {
      const bool waiting = now < p.client_from;
      fds.push_back({p.first, static_cast<short>(waiting ? 0 : POLLIN), 0});
      fds.push_back({p.second, POLLIN, 0});
      if (waiting) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            p.client_from - now)
                            .count() +
                        1;
        if (timeout_ms < 0 || ms < timeout_ms)
          timeout_ms = static_cast<int>(ms);
      }
    }
    if (poll(fds.data(), fds.size(), timeout_ms) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    std::vector<Pair> kept;
    for (size_t i = 0; i < pairs.size(); ++i) {
      bool open = true;
      for (int side = 0; side < 2 && open; ++side) {
        const pollfd& p = fds[2 + 2 * i + side];
        if (p.revents == 0) continue;
        const int from = side == 0 ? pairs[i].first : pairs[i].second;
        const int to = side == 0 ? pairs[i].second : pairs[i].first;
        char buf[65536];
        const ssize_t n = recv(from, buf, sizeof(buf), 0);
        open = n > 0 && WriteAll(to, buf, n);
      }
      if (open) {
        kept.push_back(pairs[i]);
      } else {
        close_pair(pairs[i]);
      }
    }
    pairs = std::move(kept);
    if (fds[1].revents & POLLIN) {
      const int client = accept(listen_fd_, nullptr, nullptr);
      if (client >= 0) {
        const int upstream = Upstream();
        if (upstream >= 0) {
          pairs.push_back(
              {client, upstream, Clock::now() + first_bytes_delay_});
        } else {
          close(client);
        }
      }
    }
  }
  for (const auto& p : pairs) close_pair(p);
}

SourceAddressRelay::~SourceAddressRelay() {
  if (thread_.joinable()) {
    const char stop = 1;
    (void)!write(wake_[1], &stop, 1);
    thread_.join();
  }
  for (int fd : {listen_fd_, wake_[0], wake_[1]}) {
    if (fd >= 0) close(fd);
  }
}

}  // namespace pgconn::testing
