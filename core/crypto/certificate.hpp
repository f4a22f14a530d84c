// X.509 certificates: loading PEM bundles, inspection, and the checks a cron
// job runs (expiry, host coverage, key match).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/crypto/ossl.hpp"

namespace certroute::crypto {

using SysTime = std::chrono::system_clock::time_point;

// Loads every certificate of a PEM bundle in order (leaf first, as in a
// fullchain), or a single DER certificate. bad_input for empty, garbage,
// truncated input, or a key/CSR given instead.
Result<std::vector<X509Ptr>> load_certificates(std::string_view data, const std::string& source);

struct CertInfo {
  std::string subject, issuer;
  std::vector<std::string> dns_names, ips, emails, uris;
  std::string serial;        // hex, upper case, colon-free
  SysTime not_before, not_after;
  long days_left = 0;        // whole days from now until not_after (negative once expired)
  std::string key;           // "EC P-256"
  std::string sha256_fingerprint;  // upper-case hex with colons, as openssl prints it
  bool self_signed = false;
  // Relation to the next certificate in the bundle: "signed by next",
  // "NOT signed by next", or "" for the last one.
  std::optional<bool> signed_by_next;
};

std::vector<CertInfo> certificate_infos(const std::vector<X509Ptr>& chain, SysTime now);

// Names, serial and validity only: no signature checks and no public-key
// decoding, which dominate when hundreds of certificates are scanned.
CertInfo certificate_summary(X509* cert, SysTime now);

// One failed check, worded for a line on its own ("expires in 12 days ...").
struct CheckFailure {
  std::string message;
};

struct CheckOptions {
  long min_days = 30;
  std::vector<std::string> hosts;  // DNS names (UTF-8 accepted) or IP addresses
  EVP_PKEY* key = nullptr;         // when set, must match the leaf's public key
};

// Runs the checks on the leaf (the first certificate). Invalid host names are
// bad_input errors; failed checks come back as the list (empty = all good).
Result<std::vector<CheckFailure>> check_certificate(X509* leaf, const CheckOptions& options, SysTime now);

// ISO 8601 UTC, "2026-11-29T03:47:00Z".
std::string format_time(SysTime t);

}  // namespace certroute::crypto
