// libcurl is loaded with dlopen on first use instead of being linked: linking
// it makes the loader map and relocate ~30 libraries at every start of the
// binary (about 4.5 ms), more than a whole `csr create`. Only the commands
// that talk to an ACME server pay for it. The API used is the stable easy
// interface, called through function pointers typed from <curl/curl.h>.
#include <curl/curl.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <mutex>

#include "core/acme/http.hpp"

namespace certroute::acme {
using util::ErrorKind;
using util::fail;

namespace {

struct CurlApi {
  decltype(&curl_global_init) global_init = nullptr;
  decltype(&curl_easy_init) easy_init = nullptr;
  decltype(&curl_easy_setopt) easy_setopt = nullptr;
  decltype(&curl_easy_perform) easy_perform = nullptr;
  decltype(&curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&curl_easy_strerror) easy_strerror = nullptr;
  decltype(&curl_slist_append) slist_append = nullptr;
  decltype(&curl_slist_free_all) slist_free_all = nullptr;
};

Result<const CurlApi*> curl_api() {
  static CurlApi api;
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    // RTLD_LAZY: resolve only what is called, touching fewer pages (peak RSS).
    void* h = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
    if (!h) {
      error = std::string("cannot load libcurl: ") + dlerror();
      return;
    }
    auto sym = [h](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name));
      return fn != nullptr;
    };
    bool ok = sym(api.global_init, "curl_global_init") && sym(api.easy_init, "curl_easy_init") &&
              sym(api.easy_setopt, "curl_easy_setopt") && sym(api.easy_perform, "curl_easy_perform") &&
              sym(api.easy_getinfo, "curl_easy_getinfo") && sym(api.easy_cleanup, "curl_easy_cleanup") &&
              sym(api.easy_strerror, "curl_easy_strerror") && sym(api.slist_append, "curl_slist_append") &&
              sym(api.slist_free_all, "curl_slist_free_all");
    if (!ok) {
      error = "libcurl lacks a needed function";
      api = CurlApi{};
      return;
    }
    api.global_init(CURL_GLOBAL_DEFAULT);
  });
  if (!api.easy_init) return fail(ErrorKind::internal, error);
  return &api;
}

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return std::string(s);
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  // ACME replies are small; refuse absurd bodies rather than grow without bound.
  if (body->size() + size * n > 16 * 1024 * 1024) return 0;
  body->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    resp->headers.clear();  // a new response (after 100 Continue or a redirect)
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    resp->headers.emplace_back(lower(std::string(line.substr(0, colon))), trim(line.substr(colon + 1)));
  }
  return size * n;
}

class CurlClient final : public HttpClient {
 public:
  CurlClient(const CurlApi* api, CURL* easy, HttpOptions options) : api_(api), easy_(easy), options_(std::move(options)) {}
  ~CurlClient() override { api_->easy_cleanup(easy_); }

  Result<HttpResponse> send(const HttpRequest& request) override {
    HttpResponse resp;
    CURL* e = easy_;
    // One easy handle for the client's life keeps the connection (and TLS
    // session) alive between requests; reset only the per-request options.
    api_->easy_setopt(e, CURLOPT_URL, request.url.c_str());
    api_->easy_setopt(e, CURLOPT_NOBODY, request.method == HttpRequest::Method::head ? 1L : 0L);
    api_->easy_setopt(e, CURLOPT_HTTPGET, request.method == HttpRequest::Method::get ? 1L : 0L);
    if (request.method == HttpRequest::Method::post) {
      api_->easy_setopt(e, CURLOPT_POST, 1L);
      api_->easy_setopt(e, CURLOPT_POSTFIELDS, request.body.data());
      api_->easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
    }
    curl_slist* headers = nullptr;
    if (!request.content_type.empty())
      headers = api_->slist_append(headers, ("Content-Type: " + request.content_type).c_str());
    if (!request.accept.empty()) headers = api_->slist_append(headers, ("Accept: " + request.accept).c_str());
    headers = api_->slist_append(headers, "Expect:");
    api_->easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    api_->easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    api_->easy_setopt(e, CURLOPT_WRITEDATA, &resp.body);
    api_->easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    api_->easy_setopt(e, CURLOPT_HEADERDATA, &resp);

    CURLcode rc = api_->easy_perform(e);
    api_->easy_setopt(e, CURLOPT_HTTPHEADER, nullptr);
    api_->slist_free_all(headers);
    if (rc != CURLE_OK) {
      std::string why = errbuf_[0] ? errbuf_ : api_->easy_strerror(rc);
      while (!why.empty() && why.back() == '\n') why.pop_back();
      return fail(ErrorKind::remote, request.url + ": " + why);
    }
    api_->easy_getinfo(e, CURLINFO_RESPONSE_CODE, &resp.status);
    return resp;
  }

  void configure() {
    CURL* e = easy_;
    errbuf_[0] = 0;
    api_->easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf_);
    api_->easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    api_->easy_setopt(e, CURLOPT_TIMEOUT, options_.timeout_seconds);
    api_->easy_setopt(e, CURLOPT_CONNECTTIMEOUT, std::min(10L, options_.timeout_seconds));
    api_->easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
    api_->easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    api_->easy_setopt(e, CURLOPT_USERAGENT, options_.user_agent.c_str());
    api_->easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    if (!options_.ca_bundle.empty()) api_->easy_setopt(e, CURLOPT_CAINFO, options_.ca_bundle.c_str());
  }

 private:
  const CurlApi* api_;
  CURL* easy_;
  HttpOptions options_;
  char errbuf_[CURL_ERROR_SIZE];
};

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  std::string n = lower(std::string(name));
  for (const auto& [k, v] : headers)
    if (k == n) return v;
  return std::nullopt;
}

std::vector<std::string> HttpResponse::links(std::string_view rel) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers) {
    if (k != "link") continue;
    // A header may hold several comma-separated links: <url>;rel="x", <url2>;rel=y
    size_t pos = 0;
    while ((pos = v.find('<', pos)) != std::string::npos) {
      size_t end = v.find('>', pos);
      if (end == std::string::npos) break;
      std::string url = v.substr(pos + 1, end - pos - 1);
      size_t next = v.find('<', end);
      std::string params = v.substr(end + 1, next == std::string::npos ? std::string::npos : next - end - 1);
      std::string p = lower(params);
      auto r = p.find("rel=");
      if (r != std::string::npos) {
        std::string value = p.substr(r + 4);
        if (!value.empty() && value[0] == '"') value = value.substr(1, value.find('"', 1) - 1);
        else value = value.substr(0, value.find_first_of(";, "));
        if (value == rel) out.push_back(url);
      }
      pos = end + 1;
    }
  }
  return out;
}

std::optional<long> parse_retry_after(std::string_view value, long now_unix) {
  std::string v = trim(value);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (v.size() > 9) return std::nullopt;
    return std::stol(v);
  }
  struct tm tm {};
  if (!strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) return std::nullopt;
  long t = static_cast<long>(timegm(&tm));
  return std::max(0L, t - now_unix);
}

Result<std::unique_ptr<HttpClient>> make_curl_client(const HttpOptions& options) {
  auto api = curl_api();
  if (!api) return fail(std::move(api.error()));
  CURL* easy = (*api)->easy_init();
  if (!easy) return fail(ErrorKind::internal, "curl_easy_init failed");
  auto client = std::make_unique<CurlClient>(*api, easy, options);
  client->configure();
  return std::unique_ptr<HttpClient>(std::move(client));
}

}  // namespace certroute::acme
