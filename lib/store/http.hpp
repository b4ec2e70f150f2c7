// A small HTTP client over libcurl for the registry store: one request at a
// time, bodies from memory or a file region, responses to memory (bounded)
// or to a sink. TLS peers are verified unless the URL is plain http.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace zoo::store {

// A request that got no HTTP answer. `transient()` is true for failures a
// retry may cure (refused or reset connections, timeouts), false for ones it
// cannot (certificate problems, bad URLs).
class HttpTransportError : public Error {
 public:
  HttpTransportError(const std::string& message, bool transient)
      : Error(ErrorKind::store, message), m_transient(transient) {}
  bool transient() const { return m_transient; }

 private:
  bool m_transient;
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  // The body: `body` bytes, or `file` from `file_offset` for `file_size`
  // bytes; none = empty.
  const std::string* body = nullptr;
  std::FILE* file = nullptr;
  int64_t file_offset = 0;
  int64_t file_size = 0;
  // Response bodies go to `sink` when set (return false to abort), else to
  // HttpResponse::body up to `max_body` bytes (more is an error).
  std::function<bool(const char* data, size_t size)> sink;
  // With a sink: called once, before the first byte of the final response's
  // body, with its status; false sends that body to HttpResponse::body
  // instead (an error page is not written into a download).
  std::function<bool(long status)> sink_accepts;
  int64_t max_body = 64 << 20;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lowercased; the last value wins
  std::string body;

  std::string header(const std::string& lowercase_name) const;
};

struct HttpOptions {
  std::string ca_file;  // PEM bundle ("" = the system's)
  long connect_timeout_seconds = 15;
  long stall_seconds = 60;  // abort when fewer than 1 byte/s move for this long
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs one request. Throws HttpTransportError for transport failures
  // (DNS, connect, TLS, timeouts), with curl's reason and the host; HTTP
  // error statuses are returned, not thrown. Redirects are followed.
  HttpResponse perform(const HttpRequest& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Percent-encodes a URL query value.
std::string url_encode(const std::string& value);

}  // namespace zoo::store
