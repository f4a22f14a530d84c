#include "core/proxy/compress.hpp"

#include <algorithm>
#include <charconv>

#include <brotli/encode.h>
#include <zlib.h>
#include <zstd.h>

namespace certroute::proxy {

namespace {

class Gzip final : public Encoder {
 public:
  Gzip() {
    // 15 + 16: a gzip wrapper; level 5 trades a little size for a lot of speed.
    ok_ = deflateInit2(&z_, 5, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~Gzip() override {
    if (ok_) deflateEnd(&z_);
  }
  bool write(std::string_view in, std::string& out) override { return run(in, Z_NO_FLUSH, out); }
  bool finish(std::string& out) override { return run({}, Z_FINISH, out); }

 private:
  bool run(std::string_view in, int flush, std::string& out) {
    if (!ok_) return false;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      char buf[16384];
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof buf;
      int rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR) return false;
      out.append(buf, sizeof buf - z_.avail_out);
      if (flush == Z_FINISH ? rc == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0)) return true;
    }
  }
  z_stream z_{};
  bool ok_ = false;
};

class Brotli final : public Encoder {
 public:
  Brotli() : s_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    if (s_) BrotliEncoderSetParameter(s_, BROTLI_PARAM_QUALITY, 4);
  }
  ~Brotli() override {
    if (s_) BrotliEncoderDestroyInstance(s_);
  }
  bool write(std::string_view in, std::string& out) override { return run(in, BROTLI_OPERATION_PROCESS, out); }
  bool finish(std::string& out) override { return run({}, BROTLI_OPERATION_FINISH, out); }

 private:
  bool run(std::string_view in, BrotliEncoderOperation op, std::string& out) {
    if (!s_) return false;
    std::size_t avail_in = in.size();
    const std::uint8_t* next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    for (;;) {
      std::size_t avail_out = 0;
      if (!BrotliEncoderCompressStream(s_, op, &avail_in, &next_in, &avail_out, nullptr, nullptr)) return false;
      std::size_t size = 0;
      const std::uint8_t* p = BrotliEncoderTakeOutput(s_, &size);
      if (size) out.append(reinterpret_cast<const char*>(p), size);
      bool done = op == BROTLI_OPERATION_FINISH ? BrotliEncoderIsFinished(s_) : (avail_in == 0 && !BrotliEncoderHasMoreOutput(s_));
      if (done) return true;
    }
  }
  BrotliEncoderState* s_;
};

class Zstd final : public Encoder {
 public:
  Zstd() : c_(ZSTD_createCCtx()) {
    if (c_) ZSTD_CCtx_setParameter(c_, ZSTD_c_compressionLevel, 3);
  }
  ~Zstd() override { ZSTD_freeCCtx(c_); }
  bool write(std::string_view in, std::string& out) override { return run(in, ZSTD_e_continue, out); }
  bool finish(std::string& out) override { return run({}, ZSTD_e_end, out); }

 private:
  bool run(std::string_view in, ZSTD_EndDirective mode, std::string& out) {
    if (!c_) return false;
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    for (;;) {
      char buf[16384];
      ZSTD_outBuffer output{buf, sizeof buf, 0};
      std::size_t left = ZSTD_compressStream2(c_, &output, &input, mode);
      if (ZSTD_isError(left)) return false;
      out.append(buf, output.pos);
      if (mode == ZSTD_e_end ? left == 0 : input.pos == input.size) return true;
    }
  }
  ZSTD_CCtx* c_;
};

std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The media type without parameters, lower-case.
std::string media_type(std::string_view ct) { return lower(trim(ct.substr(0, ct.find(';')))); }

class Compress final : public Middleware {
 public:
  CompressSettings settings;
  void handle(Exchange& ex) const override { ex.compress = &settings; }
};

}  // namespace

std::unique_ptr<Encoder> make_encoder(std::string_view encoding) {
  if (encoding == "gzip") return std::make_unique<Gzip>();
  if (encoding == "br") return std::make_unique<Brotli>();
  if (encoding == "zstd") return std::make_unique<Zstd>();
  return nullptr;
}

std::string negotiate_encoding(std::string_view accept, const std::vector<std::string>& supported,
                               std::string_view default_encoding) {
  if (trim(accept).empty()) return "";
  std::string best;
  double best_q = 0;
  std::size_t best_rank = supported.size();
  bool star = false;
  double star_q = 0;
  while (!accept.empty()) {
    auto comma = accept.find(',');
    std::string_view item = trim(accept.substr(0, comma));
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    std::string_view name = trim(item.substr(0, item.find(';')));
    double q = 1;
    if (auto semi = item.find(';'); semi != std::string_view::npos) {
      std::string_view param = trim(item.substr(semi + 1));
      if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        std::string v(param.substr(2));
        q = std::atof(v.c_str());
      }
    }
    std::string n = lower(name);
    if (n == "*") {
      star = true;
      star_q = q;
      continue;
    }
    auto it = std::find(supported.begin(), supported.end(), n);
    if (it == supported.end() || q <= 0) continue;
    auto rank = static_cast<std::size_t>(it - supported.begin());
    if (q > best_q || (q == best_q && rank < best_rank)) {
      best = n;
      best_q = q;
      best_rank = rank;
    }
  }
  if (best.empty() && star && star_q > 0 && !supported.empty())
    best = default_encoding.empty() ? supported.front() : std::string(default_encoding);
  return best;
}

bool CompressSettings::wants(std::string_view content_type, bool length_known, std::uint64_t length) const {
  if (length_known && length < min_bytes) return false;
  std::string mt = media_type(content_type);
  if (!included_types.empty())
    return std::any_of(included_types.begin(), included_types.end(), [&](const std::string& t) { return media_type(t) == mt; });
  // Traefik never compresses gRPC, and event streams must not be buffered.
  if (mt == "application/grpc" || mt == "text/event-stream") return false;
  return std::none_of(excluded_types.begin(), excluded_types.end(), [&](const std::string& t) { return media_type(t) == mt; });
}

std::unique_ptr<Middleware> make_compress(const routes::DocNode& node, std::string& error) {
  auto m = std::make_unique<Compress>();
  auto& s = m->settings;
  s.excluded_types = doc::list(&node, "excludedContentTypes");
  s.included_types = doc::list(&node, "includedContentTypes");
  if (!s.excluded_types.empty() && !s.included_types.empty()) {
    error = "excludedContentTypes and includedContentTypes cannot both be set";
    return nullptr;
  }
  if (auto min = doc::integer(&node, "minResponseBodyBytes")) s.min_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(0, *min));
  auto enc = doc::list(&node, "encodings");
  if (!enc.empty()) {
    s.encodings.clear();
    for (auto& e : enc) {
      std::string l = lower(e);
      if (l != "gzip" && l != "br" && l != "zstd") {
        error = "unknown encoding '" + e + "' (gzip, br and zstd are Traefik's)";
        return nullptr;
      }
      s.encodings.push_back(l);
    }
    if (s.encodings.empty()) {
      error = "no encodings";
      return nullptr;
    }
  }
  s.default_encoding = lower(doc::str(&node, "defaultEncoding").value_or(""));
  return m;
}

}  // namespace certroute::proxy
