#include "core/crypto/certificate.hpp"

#include <ctime>
#include <openssl/pem.h>

#include "core/crypto/csr.hpp"
#include "core/crypto/key.hpp"
#include "core/util/names.hpp"

namespace certroute::crypto {
using util::ErrorKind;
using util::fail;

namespace {

SysTime asn1_to_time(const ASN1_TIME* t) {
  struct tm tm {};
  ASN1_TIME_to_tm(t, &tm);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

long days_between(SysTime from, SysTime to) {
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(to - from).count();
  // Floor division, so 23 hours left is 0 days and 1 hour past is -1.
  long d = static_cast<long>(secs / 86400);
  if (secs < 0 && secs % 86400 != 0) --d;
  return d;
}

std::string date_only(SysTime t) { return format_time(t).substr(0, 10); }

}  // namespace

std::string format_time(SysTime t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::vector<X509Ptr>> load_certificates(std::string_view data, const std::string& source) {
  clear_ossl_errors();
  std::vector<X509Ptr> out;
  if (data.empty()) return fail(ErrorKind::bad_input, source + ": file is empty");
  if (looks_like_pem(data)) {
    // Walk the PEM blocks; certificates are kept, private keys beside them
    // (a combined bundle) skipped, anything else is an error.
    size_t pos = 0;
    bool saw_other = false;
    std::string other;
    while ((pos = data.find("-----BEGIN ", pos)) != std::string_view::npos) {
      std::string label = first_pem_label(data.substr(pos));
      std::string end_marker = "-----END " + label + "-----";
      size_t end = data.find(end_marker, pos);
      if (end == std::string_view::npos)
        return fail(ErrorKind::bad_input, source + ": PEM block '" + label + "' is truncated (no END line)");
      end += end_marker.size();
      if (label == "CERTIFICATE" || label == "TRUSTED CERTIFICATE") {
        auto bio = mem_bio(data.substr(pos, end - pos));
        X509* x = label == "CERTIFICATE" ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)
                                         : PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr);
        if (!x) {
          clear_ossl_errors();
          return fail(ErrorKind::bad_input, source + ": certificate " + std::to_string(out.size() + 1) +
                                                " in the bundle is damaged");
        }
        out.emplace_back(x);
      } else if (!label.ends_with("PRIVATE KEY")) {
        saw_other = true;
        if (other.empty()) other = label;
      }
      pos = end;
    }
    if (out.empty()) {
      if (other == "CERTIFICATE REQUEST" || other == "NEW CERTIFICATE REQUEST")
        return fail(ErrorKind::bad_input, source + ": is a certificate signing request, not a certificate");
      if (!saw_other)
        return fail(ErrorKind::bad_input, source + ": holds a private key but no certificate");
      return fail(ErrorKind::bad_input, source + ": no certificate found (PEM block '" + other + "')");
    }
    return out;
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(data.data());
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(data.size()));
  if (!x) {
    clear_ossl_errors();
    return fail(ErrorKind::bad_input, source + ": not a certificate (neither PEM nor DER)");
  }
  out.emplace_back(x);
  return out;
}

CertInfo certificate_summary(X509* x, SysTime now) {
  CertInfo c;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
  collect_sans(sans, c.dns_names, c.ips, c.emails, c.uris);
  GENERAL_NAMES_free(sans);
  if (const ASN1_INTEGER* serial = X509_get0_serialNumber(x))
    c.serial = hex(ASN1_STRING_get0_data(serial), static_cast<size_t>(ASN1_STRING_length(serial)), 0, true);
  c.not_before = asn1_to_time(X509_get0_notBefore(x));
  c.not_after = asn1_to_time(X509_get0_notAfter(x));
  c.days_left = days_between(now, c.not_after);
  return c;
}

std::vector<CertInfo> certificate_infos(const std::vector<X509Ptr>& chain, SysTime now) {
  std::vector<CertInfo> infos;
  for (size_t i = 0; i < chain.size(); ++i) {
    X509* x = chain[i].get();
    CertInfo c;
    c.subject = name_to_string(X509_get_subject_name(x));
    c.issuer = name_to_string(X509_get_issuer_name(x));
    auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
    collect_sans(sans, c.dns_names, c.ips, c.emails, c.uris);
    GENERAL_NAMES_free(sans);
    if (const ASN1_INTEGER* serial = X509_get0_serialNumber(x)) {
      c.serial = hex(ASN1_STRING_get0_data(serial), static_cast<size_t>(ASN1_STRING_length(serial)), 0, true);
    }
    c.not_before = asn1_to_time(X509_get0_notBefore(x));
    c.not_after = asn1_to_time(X509_get0_notAfter(x));
    c.days_left = days_between(now, c.not_after);
    if (EVP_PKEY* pub = X509_get0_pubkey(x)) c.key = key_info(pub).description();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    X509_digest(x, EVP_sha256(), md, &n);
    c.sha256_fingerprint = hex(md, n, ':', true);
    if (X509_check_issued(x, x) == X509_V_OK) {
      EVP_PKEY* pub = X509_get0_pubkey(x);
      c.self_signed = pub && X509_verify(x, pub) == 1;
    }
    if (i + 1 < chain.size()) {
      X509* next = chain[i + 1].get();
      EVP_PKEY* npub = X509_get0_pubkey(next);
      c.signed_by_next = X509_check_issued(next, x) == X509_V_OK && npub && X509_verify(x, npub) == 1;
    }
    infos.push_back(std::move(c));
  }
  clear_ossl_errors();
  return infos;
}

Result<std::vector<CheckFailure>> check_certificate(X509* leaf, const CheckOptions& options, SysTime now) {
  std::vector<CheckFailure> failures;
  SysTime not_before = asn1_to_time(X509_get0_notBefore(leaf));
  SysTime not_after = asn1_to_time(X509_get0_notAfter(leaf));
  long days = days_between(now, not_after);
  if (now < not_before) {
    failures.push_back({"not valid yet: valid from " + format_time(not_before)});
  }
  if (now >= not_after) {
    failures.push_back({"expired on " + format_time(not_after)});
  } else if (not_after - now <= std::chrono::hours(24) * options.min_days) {
    // Valid for more than N days is the contract; exactly N is not enough.
    failures.push_back({"expires in " + std::to_string(days) + (days == 1 ? " day" : " days") + " (" +
                        date_only(not_after) + "), not more than " + std::to_string(options.min_days)});
  }

  for (const auto& host : options.hosts) {
    if (util::is_ip_address(host)) {
      auto ip = util::normalize_ip(host);
      if (X509_check_ip_asc(leaf, ip->c_str(), 0) != 1) failures.push_back({"does not cover IP address " + *ip});
      continue;
    }
    auto name = util::normalize_dns_name(host, {.allow_wildcard = true});
    if (!name) return fail(std::move(name.error()).context("--host"));
    // Browsers' rules: a wildcard covers exactly one whole left-most label.
    std::vector<std::string> dns, ips, emails, uris;
    auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
    collect_sans(sans, dns, ips, emails, uris);
    GENERAL_NAMES_free(sans);
    bool covered = false;
    for (const auto& san : dns)
      if (util::dns_name_matches(san, *name)) covered = true;
    if (!covered) failures.push_back({"does not cover " + *name});
  }

  if (options.key) {
    EVP_PKEY* pub = X509_get0_pubkey(leaf);
    if (!pub || EVP_PKEY_eq(pub, options.key) != 1) failures.push_back({"does not match the private key"});
  }
  clear_ossl_errors();
  return failures;
}

}  // namespace certroute::crypto
