// The status page's static files, embedded in the binary at build time
// (embed_assets.cmake writes their definitions from status_page.html,
// status_page.css and status_page.js): the page fetches /api/v1/status and
// draws it.
#ifndef PGCONN_AGENT_RUNTIME_STATUS_PAGE_ASSETS_H_
#define PGCONN_AGENT_RUNTIME_STATUS_PAGE_ASSETS_H_

#include <string_view>

namespace pgconn {

std::string_view StatusPageHtml();
std::string_view StatusPageStyle();
std::string_view StatusPageScript();

}  // namespace pgconn

#endif  // PGCONN_AGENT_RUNTIME_STATUS_PAGE_ASSETS_H_
