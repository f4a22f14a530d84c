#include "core/crypto/csr.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <openssl/pem.h>

#include "core/crypto/key.hpp"
#include "core/util/names.hpp"

namespace certroute::crypto {
using util::ErrorKind;
using util::fail;

namespace {

template <typename F>
Result<std::vector<std::string>> normalize_all(const std::vector<std::string>& in, F&& fn) {
  std::vector<std::string> out;
  for (const auto& v : in) {
    auto n = fn(v);
    if (!n) return fail(std::move(n.error()));
    if (std::find(out.begin(), out.end(), *n) == out.end()) out.push_back(std::move(*n));
  }
  return out;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

std::string asn1_string_to_utf8(const ASN1_STRING* s) {
  unsigned char* out = nullptr;
  int n = ASN1_STRING_to_UTF8(&out, s);
  if (n < 0) return {};
  std::string r(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  OPENSSL_free(out);
  return r;
}

}  // namespace

Result<std::vector<NameEntry>> parse_subject(std::string_view subject) {
  std::vector<NameEntry> out;
  std::string s = trim(subject);
  if (s.empty()) return out;
  const bool slash_form = s.front() == '/';
  const char sep = slash_form ? '/' : ',';
  std::vector<std::string> parts;
  std::string cur;
  for (size_t i = slash_form ? 1 : 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
    } else if (c == sep) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  for (const auto& part : parts) {
    auto eq = part.find('=');
    if (eq == std::string::npos)
      return fail(ErrorKind::bad_input, "invalid subject '" + std::string(subject) + "': '" + trim(part) +
                                            "' is not of the form KEY=VALUE");
    std::string key = trim(std::string_view(part).substr(0, eq));
    std::string value = trim(std::string_view(part).substr(eq + 1));
    if (key.empty())
      return fail(ErrorKind::bad_input, "invalid subject '" + std::string(subject) + "': empty attribute name");
    out.emplace_back(key, value);
  }
  return out;
}

Result<ValidCsrRequest> validate_csr_request(const CsrRequest& request) {
  ValidCsrRequest v;
  auto dns = normalize_all(request.dns_names, [](const std::string& n) { return util::normalize_dns_name(n); });
  if (!dns) return fail(std::move(dns.error()));
  v.dns_names = std::move(*dns);
  auto ips = normalize_all(request.ips, [](const std::string& n) { return util::normalize_ip(n); });
  if (!ips) return fail(std::move(ips.error()));
  v.ips = std::move(*ips);
  auto emails = normalize_all(request.emails, [](const std::string& n) { return util::normalize_email(n); });
  if (!emails) return fail(std::move(emails.error()));
  v.emails = std::move(*emails);
  auto uris = normalize_all(request.uris, [](const std::string& n) { return util::normalize_uri(n); });
  if (!uris) return fail(std::move(uris.error()));
  v.uris = std::move(*uris);

  auto subject = parse_subject(request.subject);
  if (!subject) return fail(std::move(subject.error()));
  bool has_cn = false;
  for (auto& [key, value] : *subject) {
    int nid = OBJ_txt2nid(key.c_str());
    if (nid == NID_undef) {
      clear_ossl_errors();
      return fail(ErrorKind::bad_input, "invalid subject '" + request.subject + "': unknown attribute '" + key + "'");
    }
    if (value.empty())
      return fail(ErrorKind::bad_input, "invalid subject '" + request.subject + "': " + key + " is empty");
    if (nid == NID_countryName && (value.size() != 2 || !std::isalpha(static_cast<unsigned char>(value[0])) ||
                                   !std::isalpha(static_cast<unsigned char>(value[1]))))
      return fail(ErrorKind::bad_input,
                  "invalid subject '" + request.subject + "': C must be a two-letter country code");
    if (nid == NID_commonName) {
      if (value.size() > 64)
        return fail(ErrorKind::bad_input, "invalid subject '" + request.subject + "': CN is longer than 64 characters");
      has_cn = true;
    }
    key = OBJ_nid2sn(nid);
  }
  v.subject = std::move(*subject);
  if (!has_cn && !v.dns_names.empty() && v.dns_names.front().size() <= 64)
    v.subject.insert(v.subject.begin(), {"CN", v.dns_names.front()});

  if (v.dns_names.empty() && v.ips.empty() && v.emails.empty() && v.uris.empty())
    return fail(ErrorKind::usage, "no name given: use --domain, --ip, --email or --uri at least once");
  return v;
}

Result<X509Req> build_csr(const ValidCsrRequest& request, EVP_PKEY* key) {
  clear_ossl_errors();
  X509Req req(X509_REQ_new());
  if (!req || !X509_REQ_set_version(req.get(), 0)) return fail(ossl_error(ErrorKind::internal, "creating the CSR"));

  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  for (const auto& [k, value] : request.subject) {
    if (!X509_NAME_add_entry_by_txt(name, k.c_str(), MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0))
      return fail(ossl_error(ErrorKind::bad_input, "subject attribute " + k + "=" + value));
  }

  GeneralNames sans(sk_GENERAL_NAME_new_null());
  auto add = [&](int type, ASN1_STRING* value) {
    GENERAL_NAME* gn = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(gn, type, value);
    sk_GENERAL_NAME_push(sans.get(), gn);
  };
  auto ia5 = [](const std::string& s) {
    ASN1_IA5STRING* str = ASN1_IA5STRING_new();
    ASN1_STRING_set(str, s.data(), static_cast<int>(s.size()));
    return str;
  };
  for (const auto& d : request.dns_names) add(GEN_DNS, ia5(d));
  for (const auto& ip : request.ips) {
    unsigned char buf[16];
    int len = 0;
    if (inet_pton(AF_INET, ip.c_str(), buf) == 1) len = 4;
    else if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) len = 16;
    ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, buf, len);
    add(GEN_IPADD, os);
  }
  for (const auto& e : request.emails) add(GEN_EMAIL, ia5(e));
  for (const auto& u : request.uris) add(GEN_URI, ia5(u));

  X509Extensions exts(sk_X509_EXTENSION_new_null());
  if (sk_GENERAL_NAME_num(sans.get()) > 0) {
    X509_EXTENSION* ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, sans.get());
    if (!ext) return fail(ossl_error(ErrorKind::internal, "encoding subjectAltName"));
    sk_X509_EXTENSION_push(exts.get(), ext);
  }
  if (!X509_REQ_add_extensions(req.get(), exts.get()))
    return fail(ossl_error(ErrorKind::internal, "adding the CSR extensions"));
  // Set the public key from our own encoding when we can: X509_REQ_set_pubkey
  // round-trips it through OpenSSL's encoder and decoder, which costs more
  // than the rest of the CSR together.
  if (auto enc = key_encoding(key, false)) {
    X509_PUBKEY* pk = X509_REQ_get_X509_PUBKEY(req.get());
    auto* bits = static_cast<unsigned char*>(OPENSSL_memdup(enc->public_key.data(), enc->public_key.size()));
    int ptype = V_ASN1_UNDEF;
    void* pval = nullptr;
    if (enc->algorithm_nid == NID_X9_62_id_ecPublicKey) {
      ptype = V_ASN1_OBJECT;
      pval = OBJ_nid2obj(enc->curve_nid);
    } else if (enc->algorithm_nid == NID_rsaEncryption) {
      ptype = V_ASN1_NULL;
    }
    if (!pk || !bits ||
        !X509_PUBKEY_set0_param(pk, OBJ_nid2obj(enc->algorithm_nid), ptype, pval, bits,
                                static_cast<int>(enc->public_key.size()))) {
      OPENSSL_free(bits);
      return fail(ossl_error(ErrorKind::internal, "setting the CSR key"));
    }
  } else if (!X509_REQ_set_pubkey(req.get(), key)) {
    return fail(ossl_error(ErrorKind::internal, "setting the CSR key"));
  }

  const EVP_MD* md = nullptr;  // Ed25519/Ed448 sign without a separate digest
  int base = EVP_PKEY_get_base_id(key);
  if (base != EVP_PKEY_ED25519 && base != EVP_PKEY_ED448)
    md = EVP_PKEY_get_bits(key) == 384 && base == EVP_PKEY_EC ? EVP_sha384() : EVP_sha256();
  if (X509_REQ_sign(req.get(), key, md) <= 0) return fail(ossl_error(ErrorKind::internal, "signing the CSR"));
  return req;
}

Result<std::string> csr_to_pem(X509_REQ* req) {
  Bio out(BIO_new(BIO_s_mem()));
  if (!PEM_write_bio_X509_REQ(out.get(), req)) return fail(ossl_error(ErrorKind::internal, "encoding the CSR"));
  return bio_to_string(out.get());
}

Result<std::string> csr_to_der(X509_REQ* req) {
  unsigned char* der = nullptr;
  int n = i2d_X509_REQ(req, &der);
  if (n <= 0) return fail(ossl_error(ErrorKind::internal, "encoding the CSR"));
  std::string r(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return r;
}

Result<X509Req> load_csr(std::string_view data, const std::string& source) {
  clear_ossl_errors();
  if (data.empty()) return fail(ErrorKind::bad_input, source + ": file is empty");
  X509_REQ* req = nullptr;
  if (looks_like_pem(data)) {
    std::string label = first_pem_label(data);
    if (label != "CERTIFICATE REQUEST" && label != "NEW CERTIFICATE REQUEST") {
      std::string what = label.find("PRIVATE KEY") != std::string::npos ? "a private key"
                         : label == "CERTIFICATE"                       ? "a certificate"
                                                                        : "a PEM '" + label + "' block";
      return fail(ErrorKind::bad_input, source + ": is " + what + ", not a certificate signing request");
    }
    auto bio = mem_bio(data);
    req = PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr);
    if (!req) {
      clear_ossl_errors();
      return fail(ErrorKind::bad_input, source + ": the CSR PEM is damaged or truncated");
    }
  } else {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(data.data());
    req = d2i_X509_REQ(nullptr, &p, static_cast<long>(data.size()));
    if (!req) {
      clear_ossl_errors();
      return fail(ErrorKind::bad_input, source + ": not a certificate signing request (neither PEM nor DER)");
    }
  }
  return X509Req(req);
}

void collect_sans(const GENERAL_NAMES* names, std::vector<std::string>& dns, std::vector<std::string>& ips,
                  std::vector<std::string>& emails, std::vector<std::string>& uris) {
  if (!names) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
    int type = 0;
    void* value = GENERAL_NAME_get0_value(gn, &type);
    switch (type) {
      case GEN_DNS: dns.push_back(asn1_string_to_utf8(static_cast<ASN1_STRING*>(value))); break;
      case GEN_EMAIL: emails.push_back(asn1_string_to_utf8(static_cast<ASN1_STRING*>(value))); break;
      case GEN_URI: uris.push_back(asn1_string_to_utf8(static_cast<ASN1_STRING*>(value))); break;
      case GEN_IPADD: {
        auto* os = static_cast<ASN1_OCTET_STRING*>(value);
        char buf[INET6_ADDRSTRLEN] = {0};
        int len = ASN1_STRING_length(os);
        const unsigned char* d = ASN1_STRING_get0_data(os);
        if (len == 4) inet_ntop(AF_INET, d, buf, sizeof buf);
        else if (len == 16) inet_ntop(AF_INET6, d, buf, sizeof buf);
        ips.push_back(buf);
        break;
      }
      default: break;
    }
  }
}

std::string name_to_string(const X509_NAME* name) {
  Bio out(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  return bio_to_string(out.get());
}

CsrInfo csr_info(X509_REQ* req) {
  CsrInfo info;
  info.subject = name_to_string(X509_REQ_get_subject_name(req));
  if (STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req)) {
    int idx = X509v3_get_ext_by_NID(exts, NID_subject_alt_name, -1);
    if (idx >= 0) {
      auto* names = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(sk_X509_EXTENSION_value(exts, idx)));
      collect_sans(names, info.dns_names, info.ips, info.emails, info.uris);
      GENERAL_NAMES_free(names);
    }
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  }
  if (EVP_PKEY* pub = X509_REQ_get0_pubkey(req)) {
    KeyInfo k = key_info(pub);
    info.key = k.description();
    info.key_type = k.type_name;
    info.key_bits = k.bits;
    info.signature_valid = X509_REQ_verify(req, pub) == 1;
  }
  const X509_ALGOR* alg = nullptr;
  X509_REQ_get0_signature(req, nullptr, &alg);
  if (alg) {
    const ASN1_OBJECT* obj = nullptr;
    X509_ALGOR_get0(&obj, nullptr, nullptr, alg);
    info.signature_algorithm = OBJ_nid2ln(OBJ_obj2nid(obj));
  }
  clear_ossl_errors();
  return info;
}

}  // namespace certroute::crypto
