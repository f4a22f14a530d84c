// RAII owners for OpenSSL objects, and turning OpenSSL's error queue into an Error.
#pragma once

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/util/deleter.hpp"
#include "core/util/error.hpp"

namespace certroute::crypto {

using util::Result;

using util::Deleter;

using EvpPkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using EvpPkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using EvpMdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using X509Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using X509Name = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using GeneralNames = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
using X509Extensions = std::unique_ptr<STACK_OF(X509_EXTENSION), Deleter<+[](STACK_OF(X509_EXTENSION)* s) {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}>>;

// Drains OpenSSL's error queue (so a later call does not see stale errors)
// and returns `what: <OpenSSL's reason>` as an Error of the given kind.
util::Error ossl_error(util::ErrorKind kind, const std::string& what);

// Discards whatever is on the error queue.
void clear_ossl_errors();

// A read-only memory BIO over `data` (which must outlive it).
Bio mem_bio(std::string_view data);

// Everything written to a memory BIO, as a string.
std::string bio_to_string(BIO* bio);

// Lower-case hex of bytes, optionally with a separator between bytes.
std::string hex(const unsigned char* data, size_t len, char sep = 0, bool upper = false);

// SHA-256 of bytes.
std::string sha256(std::string_view data);

// Whether `data` looks like PEM (has a "-----BEGIN " line).
bool looks_like_pem(std::string_view data);

// The label of the first PEM block ("CERTIFICATE", "PRIVATE KEY", ...), or "".
std::string first_pem_label(std::string_view data);

}  // namespace certroute::crypto
