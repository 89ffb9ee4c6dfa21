// The dashboard's page, script and style sheet, compiled into the binary from
// server/http/assets/ (embed_assets.cmake), so the dashboard works offline with no CDN.
#ifndef TONTINE_SERVER_HTTP_ASSETS_H_
#define TONTINE_SERVER_HTTP_ASSETS_H_

#include <span>
#include <string_view>

namespace tontine::http {

struct Asset {
  std::string_view path;  // "/index.html", "/dashboard.js", …
  std::string_view content_type;
  std::string_view contents;
};

std::span<const Asset> Assets();

}  // namespace tontine::http

#endif  // TONTINE_SERVER_HTTP_ASSETS_H_
