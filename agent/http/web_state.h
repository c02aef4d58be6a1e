// The web configuration (exporter-toolkit's file: TLS, basic auth) as of
// one version of its files, and how to tell that the files changed.
#ifndef PGCONN_AGENT_HTTP_WEB_STATE_H_
#define PGCONN_AGENT_HTTP_WEB_STATE_H_

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "http/basic_auth.h"
#include "http/web_config.h"
#include "pgconn/status.h"

namespace pgconn {

// What identifies a version of a file: a change of any field means it was
// rewritten or replaced (certificate rotation renames a new file in).
struct FileStamp {
  std::string path;
  int64_t mtime_ns = 0;
  int64_t size = -1;
  uint64_t inode = 0;
  bool operator==(const FileStamp&) const = default;
};

// The web configuration as of one version of its files. Immutable; each
// connection holds the version it started with.
struct WebState {
  WebConfig config;
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::unique_ptr<BasicAuth> auth;
  std::vector<FileStamp> stamps;
};

// The stamps of the web config file and of the TLS files it names.
std::vector<FileStamp> StampsOf(const std::string& file,
                                const WebConfig& config);

// Reads `file` ("" = no TLS, no authentication) and loads its TLS files.
Result<std::shared_ptr<const WebState>> ReadWebState(const std::string& file);

}  // namespace pgconn

#endif  // PGCONN_AGENT_HTTP_WEB_STATE_H_
