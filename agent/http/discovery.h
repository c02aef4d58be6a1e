// GET /discovery: the configured targets in Prometheus's HTTP service
// discovery format, so that a Prometheus with only
//   http_sd_configs: [{url: http://AGENT:9188/discovery}]
// scrapes each target through /probe, with its own `up` and scrape timeout,
// without relabelling. The document's address is the one the request was
// sent to (its Host header): the agent cannot know the name Prometheus
// reaches it by (a Service, a node port, a proxy), and a Host header is
// what that name is. Pure functions; thread-safe.
#ifndef PGCONN_AGENT_HTTP_DISCOVERY_H_
#define PGCONN_AGENT_HTTP_DISCOVERY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgconn {

// `host` as a scrape address, or nullopt when it is not one: a DNS name
// (letters, digits, '-' and '_' in dot-separated labels of 1 to 63
// characters, 253 in all, so cluster names such as
// pgconn-0.pgconn.monitoring.svc), a dotted-quad IPv4 address, or an IPv6
// address in brackets (no zone), each optionally followed by ":PORT"
// (1-65535). The value is returned as given: it goes into the document
// only when nothing in it needs escaping.
std::optional<std::string> DiscoveryAddress(std::string_view host);

// The HTTP SD document: one target group per name of `targets` (in that
// order), each {"targets": [address], "labels": {"__metrics_path__":
// "/probe", "__param_target": NAME, "target": NAME}}. An empty list is
// "[]", which Prometheus reads as no targets.
std::string DiscoveryDocument(const std::vector<std::string>& targets,
                              std::string_view address);

}  // namespace pgconn

#endif  // PGCONN_AGENT_HTTP_DISCOVERY_H_
