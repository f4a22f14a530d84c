// The HTTP client interface the ACME code talks through. The real one is
// libcurl; unit tests replay recorded server replies through a fake.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/util/error.hpp"

namespace certroute::acme {

using util::Result;

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;

  std::optional<std::string> header(std::string_view name) const;  // first, case-insensitive
  // URLs of `Link: <url>;rel="rel"` headers (RFC 8288), in order.
  std::vector<std::string> links(std::string_view rel) const;
};

struct HttpRequest {
  enum class Method { get, head, post } method = Method::get;
  std::string url;
  std::string body;
  std::string content_type;  // for POST
  std::string accept;        // optional Accept header
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Performs one exchange. Network failures are `remote` errors naming the
  // URL; any HTTP status is a successful exchange.
  virtual Result<HttpResponse> send(const HttpRequest& request) = 0;
};

struct HttpOptions {
  std::string ca_bundle;      // extra trusted roots (PEM file), "" = system store only
  long timeout_seconds = 30;
  std::string user_agent;
};

// The libcurl client (libcurl is loaded on first use; see curl_http.cpp).
Result<std::unique_ptr<HttpClient>> make_curl_client(const HttpOptions& options);

// Parses a Retry-After value (seconds or an HTTP date) into seconds from now.
std::optional<long> parse_retry_after(std::string_view value, long now_unix);

}  // namespace certroute::acme
