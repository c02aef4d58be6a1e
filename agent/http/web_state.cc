#include "http/web_state.h"

#include <openssl/ssl.h>
#include <sys/stat.h>

#include <map>
#include <stdexcept>
#include <utility>

namespace pgconn {
namespace {

namespace ssl = boost::asio::ssl;

FileStamp Stamp(const std::string& path) {
  FileStamp s;
  s.path = path;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                 st.st_mtim.tv_nsec;
    s.size = st.st_size;
    s.inode = st.st_ino;
  }
  return s;
}

Result<std::shared_ptr<ssl::context>> MakeTlsContext(const TlsServerConfig& t,
                                                     const std::string& file) {
  std::shared_ptr<ssl::context> ctx;
  try {
    ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return Status::Internal(std::string("cannot create a TLS context: ") +
                            e.what());
  }
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, t.min_version);
  SSL_CTX_set_max_proto_version(native, t.max_version);
  const std::string where = file + ": \"tls_server_config.";
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(t.cert_file, ec);
  if (ec) {
    return Status::InvalidArgument(where + "cert_file\": cannot load " +
                                   t.cert_file + ": " + ec.message());
  }
  ctx->use_private_key_file(t.key_file, ssl::context::pem, ec);
  if (ec || SSL_CTX_check_private_key(native) != 1) {
    return Status::InvalidArgument(
        where + "key_file\": cannot load " + t.key_file +
        (ec ? ": " + ec.message() : ": does not match cert_file"));
  }
  int mode = ssl::verify_none;
  bool any_cert = false;  // accept a certificate without verifying it
  switch (t.client_auth) {
    case ClientAuth::kNoClientCert:
      break;
    case ClientAuth::kRequestClientCert:
      mode = ssl::verify_peer;
      any_cert = true;
      break;
    case ClientAuth::kRequireAnyClientCert:
      mode = ssl::verify_peer | ssl::verify_fail_if_no_peer_cert;
      any_cert = true;
      break;
    case ClientAuth::kVerifyClientCertIfGiven:
      mode = ssl::verify_peer;
      break;
    case ClientAuth::kRequireAndVerifyClientCert:
      mode = ssl::verify_peer | ssl::verify_fail_if_no_peer_cert;
      break;
  }
  if (!t.client_ca_file.empty()) {
    ctx->load_verify_file(t.client_ca_file, ec);
    if (ec) {
      return Status::InvalidArgument(where + "client_ca_file\": cannot load " +
                                     t.client_ca_file + ": " + ec.message());
    }
    if (STACK_OF(X509_NAME)* names =
            SSL_load_client_CA_file(t.client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(native, names);
    }
  }
  ctx->set_verify_mode(mode, ec);
  if (any_cert) {
    ctx->set_verify_callback([](bool, ssl::verify_context&) { return true; },
                             ec);
  }
  return ctx;
}

}  // namespace

std::vector<FileStamp> StampsOf(const std::string& file,
                                const WebConfig& config) {
  std::vector<FileStamp> out{Stamp(file)};
  if (config.tls) {
    for (const std::string* p :
         {&config.tls_config.cert_file, &config.tls_config.key_file,
          &config.tls_config.client_ca_file}) {
      if (!p->empty()) out.push_back(Stamp(*p));
    }
  }
  return out;
}

Result<std::shared_ptr<const WebState>> ReadWebState(const std::string& file) {
  auto state = std::make_shared<WebState>();
  if (file.empty()) {
    state->auth =
        std::make_unique<BasicAuth>(std::map<std::string, std::string>{});
    return std::shared_ptr<const WebState>(std::move(state));
  }
  auto config = pgconn::LoadWebConfig(file);
  if (!config.ok()) return config.status();
  state->config = std::move(*config);
  if (state->config.tls) {
    auto ctx = MakeTlsContext(state->config.tls_config, file);
    if (!ctx.ok()) return ctx.status();
    state->tls = std::move(*ctx);
  }
  state->auth = std::make_unique<BasicAuth>(state->config.basic_auth_users);
  state->stamps = StampsOf(file, state->config);
  return std::shared_ptr<const WebState>(std::move(state));
}

}  // namespace pgconn
