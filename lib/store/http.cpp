// libcurl behind HttpClient. One easy handle per client, reused so that
// connections (and TLS sessions) are kept alive between requests.
#include "store/http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include <fmt/format.h>

#include "util/error.hpp"

namespace zoo::store {
namespace {

struct Reader {
  const HttpRequest* request;
  int64_t position = 0;  // bytes sent
};

size_t read_body(char* buffer, size_t size, size_t count, void* user) {
  auto* reader = static_cast<Reader*>(user);
  const HttpRequest& r = *reader->request;
  const int64_t total = r.body ? static_cast<int64_t>(r.body->size()) : r.file_size;
  const int64_t n = std::min<int64_t>(static_cast<int64_t>(size * count), total - reader->position);
  if (n <= 0) return 0;
  if (r.body) {
    std::copy_n(r.body->data() + reader->position, n, buffer);
  } else {
    if (std::fseek(r.file, static_cast<long>(r.file_offset + reader->position), SEEK_SET) != 0) return CURL_READFUNC_ABORT;
    if (std::fread(buffer, 1, static_cast<size_t>(n), r.file) != static_cast<size_t>(n)) return CURL_READFUNC_ABORT;
  }
  reader->position += n;
  return static_cast<size_t>(n);
}

struct Writer {
  const HttpRequest* request;
  HttpResponse* response;
  CURL* curl = nullptr;
  bool too_big = false;
  int to_sink = -1;  // -1 = not decided yet
};

size_t write_body(char* data, size_t size, size_t count, void* user) {
  auto* writer = static_cast<Writer*>(user);
  const size_t n = size * count;
  if (writer->to_sink < 0) {
    writer->to_sink = writer->request->sink ? 1 : 0;
    if (writer->to_sink && writer->request->sink_accepts) {
      long status = 0;
      curl_easy_getinfo(writer->curl, CURLINFO_RESPONSE_CODE, &status);
      writer->to_sink = writer->request->sink_accepts(status) ? 1 : 0;
    }
  }
  if (writer->to_sink) return writer->request->sink(data, n) ? n : 0;
  if (static_cast<int64_t>(writer->response->body.size() + n) > writer->request->max_body) {
    writer->too_big = true;
    return 0;
  }
  writer->response->body.append(data, n);
  return n;
}

size_t write_header(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  const std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    response->headers.clear();  // a new response (after a redirect or 100-continue)
  } else if (const auto colon = line.find(':'); colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) value.erase(0, 1);
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
    response->headers[name] = value;
  }
  return size * count;
}

std::string host_of(const std::string& url) {
  const auto start = url.find("://");
  if (start == std::string::npos) return url;
  const auto end = url.find('/', start + 3);
  return url.substr(start + 3, end == std::string::npos ? std::string::npos : end - start - 3);
}

}  // namespace

struct HttpClient::Impl {
  HttpOptions options;
  CURL* curl = nullptr;
};

HttpClient::HttpClient(HttpOptions options) : m_impl(std::make_unique<Impl>()) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  m_impl->options = std::move(options);
  m_impl->curl = curl_easy_init();
  if (!m_impl->curl) throw Error(ErrorKind::store, "cannot initialise libcurl");
}

HttpClient::~HttpClient() { curl_easy_cleanup(m_impl->curl); }

std::string HttpResponse::header(const std::string& lowercase_name) const {
  const auto it = headers.find(lowercase_name);
  return it == headers.end() ? "" : it->second;
}

HttpResponse HttpClient::perform(const HttpRequest& request) {
  CURL* curl = m_impl->curl;
  curl_easy_reset(curl);
  HttpResponse response;
  Reader reader{&request};
  Writer writer{&request, &response, curl};
  curl_slist* headers = nullptr;
  for (const auto& header : request.headers) headers = curl_slist_append(headers, header.c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  const bool has_body = request.body || request.file;
  const int64_t body_size = request.body ? static_cast<int64_t>(request.body->size()) : request.file_size;

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!m_impl->options.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, m_impl->options.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, m_impl->options.connect_timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, m_impl->options.stall_seconds);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "zoo/" ZOO_VERSION);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &writer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "POST" && !has_body) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(0));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  } else if (request.method == "PUT" || request.method == "PATCH" || (request.method == "POST" && has_body)) {
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(curl, CURLOPT_READDATA, &reader);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(has_body ? body_size : 0));
    if (request.method != "PUT") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  } else if (request.method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  const CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (writer.too_big) {
    throw Error(ErrorKind::store, "{}: {} {} answered with more than {} bytes", host_of(request.url), request.method,
                request.url, request.max_body);
  }
  if (code != CURLE_OK) {
    const bool transient = code == CURLE_COULDNT_CONNECT || code == CURLE_OPERATION_TIMEDOUT ||
                           code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR || code == CURLE_GOT_NOTHING ||
                           code == CURLE_PARTIAL_FILE || code == CURLE_COULDNT_RESOLVE_HOST;
    const bool tls = code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE ||
                     code == CURLE_SSL_CONNECT_ERROR || code == CURLE_SSL_CERTPROBLEM;
    throw HttpTransportError(fmt::format("{}: {} failed: {}{}", host_of(request.url), request.method,
                                         error[0] ? error : curl_easy_strerror(code),
                                         tls ? " (for a private registry, give its CA certificate with --ca-file)" : ""),
                             transient);
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string url_encode(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace zoo::store
