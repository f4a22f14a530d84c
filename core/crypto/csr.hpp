// Certificate signing requests: validated requests, building, inspection.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/crypto/ossl.hpp"

namespace certroute::crypto {

// What the user asked for, as given on the command line.
struct CsrRequest {
  std::vector<std::string> dns_names;  // UTF-8; may include "*.example.com"
  std::vector<std::string> ips;
  std::vector<std::string> emails;
  std::vector<std::string> uris;
  std::string subject;  // "CN=..,O=..,C=.." or "/CN=../O=.."; empty = CN from first name
};

// An attribute of a distinguished name, such as {"O", "Example Ltd"}.
using NameEntry = std::pair<std::string, std::string>;

// The request after validation: names normalised (A-labels, lower case),
// duplicates removed (first occurrence kept), subject parsed, CN chosen.
struct ValidCsrRequest {
  std::vector<std::string> dns_names;
  std::vector<std::string> ips;
  std::vector<std::string> emails;
  std::vector<std::string> uris;
  std::vector<NameEntry> subject;  // in order; includes the CN when there is one
};

// Validates and normalises; bad_input for any invalid value, usage when no
// name at all was given. The CN defaults to the first DNS name when it fits
// in 64 characters.
Result<ValidCsrRequest> validate_csr_request(const CsrRequest& request);

// Parses "CN=a,O=b\, c,C=DE" or "/CN=a/O=b" into entries (unvalidated values).
Result<std::vector<NameEntry>> parse_subject(std::string_view subject);

// Builds and signs the CSR with `key` (SHA-256; SHA-384 for P-384 keys).
Result<X509Req> build_csr(const ValidCsrRequest& request, EVP_PKEY* key);

Result<std::string> csr_to_pem(X509_REQ* req);
Result<std::string> csr_to_der(X509_REQ* req);

// Loads a CSR from PEM or DER. Errors are bad_input naming `source`.
Result<X509Req> load_csr(std::string_view data, const std::string& source);

struct CsrInfo {
  std::string subject;          // RFC 2253 form, "" when empty
  std::vector<std::string> dns_names, ips, emails, uris;
  std::string key;              // "EC P-256"
  std::string key_type;         // "ec-p256", or ""
  int key_bits = 0;
  std::string signature_algorithm;  // "ecdsa-with-SHA256"
  bool signature_valid = false;
};

CsrInfo csr_info(X509_REQ* req);

// Subject Alternative Names of a certificate or request extension stack.
void collect_sans(const GENERAL_NAMES* names, std::vector<std::string>& dns, std::vector<std::string>& ips,
                  std::vector<std::string>& emails, std::vector<std::string>& uris);

// A distinguished name in RFC 2253 form.
std::string name_to_string(const X509_NAME* name);

}  // namespace certroute::crypto
