// ACME protocol logic against recorded server replies: no network.
#include <catch2/catch.hpp>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>

#include "core/acme/account.hpp"
#include "core/acme/client.hpp"
#include "core/acme/issuance.hpp"
#include "core/acme/jws.hpp"
#include "core/acme/order.hpp"
#include "core/crypto/key.hpp"
#include "fake_http.hpp"
#include "testcerts.hpp"

using namespace certroute;
using namespace certroute::acme;

namespace {

struct Fixture {
  FakeHttp http;
  std::vector<double> slept;
  crypto::EvpPkey key = std::move(*crypto::generate_key(crypto::KeyType::ec_p256));
  Client client{http, ClientOptions{.max_wait_seconds = 60,
                                    .sleep = [this](double s) { slept.push_back(s); },
                                    .now_unix = [] { return 1'700'000'000L; }}};
  Fixture() {
    http.reply(200, directory_json(true, true));
    REQUIRE(client.load_directory("https://ca.test/dir"));
    client.set_account_key(key.get());
    client.set_account_url("https://ca.test/acct/1");
  }
};

const char* problem(const char* type, const char* detail) {
  static std::string s;
  s = nlohmann::json{{"type", std::string("urn:ietf:params:acme:error:") + type}, {"detail", detail}}.dump();
  return s.c_str();
}

}  // namespace

TEST_CASE("the directory is parsed, and non-ACME replies are named", "[acme]") {
  auto d = Directory::parse("https://ca.test/dir", directory_json(true, true));
  REQUIRE(d);
  CHECK(d->new_order == "https://ca.test/order");
  CHECK(d->renewal_info == "https://ca.test/ari");
  CHECK(d->terms_of_service == "https://ca.test/tos");
  CHECK(d->profiles.size() == 2);
  auto html = Directory::parse("https://x.test/", "<html><body>hello</body></html>");
  REQUIRE_FALSE(html);
  CHECK(html.error().kind() == util::ErrorKind::remote);
  CHECK_THAT(html.error().message(), Catch::Contains("https://x.test/") && Catch::Contains("not an ACME directory"));
  CHECK_FALSE(Directory::parse("https://x.test/", R"({"newNonce":"a"})"));

  FakeHttp http;
  http.reply(404, "not found");
  Client c(http, {.sleep = [](double) {}});
  auto r = c.load_directory("https://x.test/dir");
  REQUIRE_FALSE(r);
  CHECK(r.error().kind() == util::ErrorKind::remote);
  CHECK_THAT(r.error().message(), Catch::Contains("https://x.test/dir") && Catch::Contains("404"));
}

TEST_CASE("problem documents keep type, detail and subproblems", "[acme]") {
  auto p = parse_problem(R"({"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"Error creating new order",
      "status":400,"subproblems":[{"type":"urn:ietf:params:acme:error:rejectedIdentifier","detail":"blocked",
      "identifier":{"type":"dns","value":"bad.example"}}]})", 400);
  REQUIRE(p);
  CHECK(p->type == "rejectedIdentifier");
  CHECK(p->kind() == util::ErrorKind::problem);
  CHECK_THAT(p->describe(), Catch::Contains("dns:bad.example: rejectedIdentifier: blocked"));
  auto s = parse_problem(R"({"type":"urn:ietf:params:acme:error:serverInternal","detail":"oops"})", 500);
  CHECK(s->kind() == util::ErrorKind::remote);
  CHECK_FALSE(parse_problem("<html>", 500));
}

TEST_CASE("badNonce is retried with the nonce the error carried", "[acme]") {
  Fixture f;
  f.http.reply(200, "", {}, true);  // HEAD newNonce
  for (int i = 0; i < 5; ++i) f.http.reply(400, problem("badNonce", "stale"));
  f.http.reply(200, R"({"status":"valid"})");
  auto r = f.client.post("https://ca.test/acct/1", nlohmann::json::object());
  REQUIRE(r);
  CHECK(r->status == 200);
  // One HEAD for the first nonce, then each retry uses the nonce from the previous error.
  REQUIRE(f.http.requests.size() == 1 + 1 + 6);
  CHECK(f.http.requests[1].method == HttpRequest::Method::head);
  CHECK(f.http.protected_header(3)["nonce"] == "nonce-3");
  CHECK(f.http.protected_header(3)["kid"] == "https://ca.test/acct/1");
  CHECK_FALSE(f.http.protected_header(3).contains("jwk"));
  CHECK(f.slept.empty());
}

TEST_CASE("rateLimited waits for Retry-After, within --max-wait", "[acme]") {
  Fixture f;
  f.http.reply(200, "");
  f.http.reply(429, problem("rateLimited", "slow down"), {{"retry-after", "7"}});
  f.http.reply(503, "busy", {{"retry-after", "3"}});
  f.http.reply(201, "{}");
  auto r = f.client.post("https://ca.test/order", nlohmann::json::object());
  REQUIRE(r);
  CHECK(f.slept == std::vector<double>{7, 3});

  Fixture g;
  g.http.reply(200, "");
  g.http.reply(429, problem("rateLimited", "too many certificates"), {{"retry-after", "3600"}});
  auto e = g.client.post("https://ca.test/order", nlohmann::json::object());
  REQUIRE_FALSE(e);
  CHECK(e.error().kind() == util::ErrorKind::remote);
  CHECK_THAT(e.error().message(), Catch::Contains("too many certificates") && Catch::Contains("3600 s"));
  CHECK(g.slept.empty());
}

TEST_CASE("server errors are retried a bounded number of times", "[acme]") {
  Fixture f;
  f.http.reply(200, "");
  for (int i = 0; i < 4; ++i) f.http.reply(500, problem("serverInternal", "boom"));
  auto r = f.client.post("https://ca.test/order", nlohmann::json::object());
  REQUIRE_FALSE(r);
  CHECK(r.error().kind() == util::ErrorKind::remote);
  CHECK(f.slept.size() == 3);
}

TEST_CASE("client errors reach the user verbatim and are not retried", "[acme]") {
  Fixture f;
  f.http.reply(200, "");
  f.http.reply(403, problem("unauthorized", "account is deactivated"));
  auto r = f.client.post("https://ca.test/order", nlohmann::json::object());
  REQUIRE_FALSE(r);
  CHECK(r.error().kind() == util::ErrorKind::problem);
  CHECK_THAT(r.error().message(), Catch::Contains("unauthorized: account is deactivated"));
  CHECK(f.client.last_problem()->type == "unauthorized");
}

TEST_CASE("nonces from replies are pooled and reused", "[acme]") {
  Fixture f;
  f.http.reply(200, "");       // HEAD
  f.http.reply(200, "{}");     // first POST; its Replay-Nonce is kept
  f.http.reply(200, "{}");     // second POST uses it: no HEAD
  REQUIRE(f.client.post_as_get("https://ca.test/a"));
  REQUIRE(f.client.post_as_get("https://ca.test/b"));
  CHECK(f.http.requests.size() == 1 + 3);
  CHECK(f.http.payload(3).empty());  // POST-as-GET has an empty payload
}

TEST_CASE("newOrder carries profile and replaces when given", "[acme]") {
  Fixture f;
  f.http.reply(200, "");
  f.http.reply(201, R"({"status":"pending","authorizations":["https://ca.test/authz/1"],"finalize":"https://ca.test/fin"})",
               {{"location", "https://ca.test/order/9"}});
  auto o = new_order(f.client, {{"dns", "a.example"}}, {.profile = "shortlived", .replaces = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"});
  REQUIRE(o);
  CHECK(o->url == "https://ca.test/order/9");
  auto payload = nlohmann::json::parse(f.http.payload(2));
  CHECK(payload["profile"] == "shortlived");
  CHECK(payload["replaces"] == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
  CHECK(payload["identifiers"][0]["value"] == "a.example");
}

TEST_CASE("ARI: the CertID follows RFC 9773's example", "[acme]") {
  // RFC 9773 §4.1: keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4,
  // serial 00:87:65:43:21 -> "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE".
  auto key = testcerts::key();
  auto cert = testcerts::make({.cn = "x"}, key.get(), key.get(), nullptr);
  BIGNUM* bn = nullptr;
  BN_hex2bn(&bn, "87654321");
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  const unsigned char kid[] = {0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
                               0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4};
  AUTHORITY_KEYID* akid = AUTHORITY_KEYID_new();
  akid->keyid = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(akid->keyid, kid, sizeof kid);
  X509_add1_ext_i2d(cert.get(), NID_authority_key_identifier, akid, 0, X509V3_ADD_REPLACE);
  AUTHORITY_KEYID_free(akid);
  X509_sign(cert.get(), key.get(), EVP_sha256());
  auto id = ari_cert_id(testcerts::pem(cert.get()));
  REQUIRE(id);
  CHECK(*id == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
}

TEST_CASE("ARI: renewalInfo replies are parsed, absent ARI is not an error", "[acme]") {
  Fixture f;
  f.http.reply(200, R"({"suggestedWindow":{"start":"2025-01-02T04:00:00Z","end":"2025-01-03T04:00:00.5+01:00"},
                       "explanationURL":"https://ca.test/why"})", {{"retry-after", "21600"}}, false);
  auto info = fetch_renewal_info(f.client, "abc.def");
  REQUIRE(info);
  REQUIRE(info->has_value());
  CHECK((*info)->window_start == 1735790400);
  CHECK((*info)->window_end == 1735790400 + 86400 - 3600);
  CHECK((*info)->explanation_url == "https://ca.test/why");
  CHECK((*info)->retry_after == 21600);
  CHECK(f.http.requests.back().url == "https://ca.test/ari/abc.def");

  FakeHttp http;
  http.reply(200, directory_json(false));
  Client c(http, {.sleep = [](double) {}});
  REQUIRE(c.load_directory("https://ca.test/dir"));
  auto none = fetch_renewal_info(c, "abc.def");
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
}

TEST_CASE("Retry-After and Link headers", "[acme]") {
  CHECK(parse_retry_after("120", 0) == 120);
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 60) == 60);
  CHECK_FALSE(parse_retry_after("soon", 0));
  HttpResponse r;
  r.headers = {{"link", "<https://ca.test/dir>;rel=\"index\""},
               {"link", "<https://ca.test/cert/1/alt/1>;rel=\"alternate\", <https://ca.test/cert/1/alt/2>; rel=alternate"}};
  CHECK(r.links("alternate") == std::vector<std::string>{"https://ca.test/cert/1/alt/1", "https://ca.test/cert/1/alt/2"});
  CHECK(r.links("index") == std::vector<std::string>{"https://ca.test/dir"});
  CHECK(r.links("up").empty());
}

TEST_CASE("polling starts at 50 ms, grows by half to 2 s, obeys Retry-After", "[acme]") {
  double d = next_poll_delay(0, -1, 100);
  CHECK(d == Approx(0.05));
  std::vector<double> seq;
  for (int i = 0; i < 12; ++i) seq.push_back(d = next_poll_delay(d, -1, 100));
  CHECK(seq[0] == Approx(0.075));
  CHECK(seq.back() == Approx(2.0));
  CHECK(next_poll_delay(0.05, 5, 100) == Approx(5));
  CHECK(next_poll_delay(1.0, 30, 4) == Approx(4));  // never past the deadline
}

TEST_CASE("JWS: ES256 signatures are r||s and verify", "[acme][jws]") {
  auto key = crypto::generate_key(crypto::KeyType::ec_p256);
  auto jws = make_jws(key->get(), {{"url", "https://ca.test/x"}}, R"({"a":1})");
  REQUIRE(jws);
  auto sig = *util::base64url_decode((*jws)["signature"].get<std::string>());
  REQUIRE(sig.size() == 64);
  // Re-encode as DER and verify with OpenSSL.
  ECDSA_SIG* es = ECDSA_SIG_new();
  ECDSA_SIG_set0(es, BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr),
                 BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr));
  unsigned char* der = nullptr;
  int n = i2d_ECDSA_SIG(es, &der);
  ECDSA_SIG_free(es);
  std::string input = (*jws)["protected"].get<std::string>() + "." + (*jws)["payload"].get<std::string>();
  crypto::EvpMdCtx ctx(EVP_MD_CTX_new());
  REQUIRE(EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key->get()) == 1);
  CHECK(EVP_DigestVerify(ctx.get(), der, static_cast<size_t>(n), reinterpret_cast<const unsigned char*>(input.data()),
                         input.size()) == 1);
  OPENSSL_free(der);
  auto header = nlohmann::json::parse(*util::base64url_decode((*jws)["protected"].get<std::string>()));
  CHECK(header["alg"] == "ES256");
}

TEST_CASE("JWK thumbprint matches RFC 7638's example", "[acme][jws]") {
  // RFC 7638 §3.1 RSA key.
  const char* n64 =
      "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMst"
      "n64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn"
      "1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
  auto n = *util::base64url_decode(n64);
  auto e = *util::base64url_decode("AQAB");
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
  OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
  EVP_PKEY* pkey = nullptr;
  EVP_PKEY_fromdata_init(ctx);
  REQUIRE(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1);
  auto t = jwk_thumbprint(pkey);
  REQUIRE(t);
  CHECK(*t == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  EVP_PKEY_free(pkey);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
}

TEST_CASE("EAB: an HS256 JWS over the account JWK", "[acme][jws]") {
  auto key = crypto::generate_key(crypto::KeyType::ec_p256);
  auto jwk = public_jwk(key->get());
  auto eab = make_eab("kid-1", "secret-mac-key", *jwk, "https://ca.test/acct");
  REQUIRE(eab);
  auto header = nlohmann::json::parse(*util::base64url_decode((*eab)["protected"].get<std::string>()));
  CHECK(header == nlohmann::json{{"alg", "HS256"}, {"kid", "kid-1"}, {"url", "https://ca.test/acct"}});
  CHECK(nlohmann::json::parse(*util::base64url_decode((*eab)["payload"].get<std::string>())) == *jwk);
  std::string input = (*eab)["protected"].get<std::string>() + "." + (*eab)["payload"].get<std::string>();
  unsigned char mac[32];
  size_t len = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, "secret-mac-key", 14,
            reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac, &len);
  CHECK((*eab)["signature"] == util::base64url_encode(std::string_view(reinterpret_cast<char*>(mac), len)));
}

TEST_CASE("account registration sends jwk, contact and terms agreement", "[acme]") {
  Fixture f;
  f.client.set_account_url("");
  f.http.reply(200, "");
  f.http.reply(201, R"({"status":"valid","contact":["mailto:a@example.com"]})", {{"location", "https://ca.test/acct/42"}});
  auto acc = account_register(f.client, {.emails = {"a@example.com"}, .agree_tos = true});
  REQUIRE(acc);
  CHECK(acc->url == "https://ca.test/acct/42");
  CHECK(f.client.account_url() == "https://ca.test/acct/42");
  auto h = f.http.protected_header(2);
  CHECK(h.contains("jwk"));
  CHECK_FALSE(h.contains("kid"));
  auto p = nlohmann::json::parse(f.http.payload(2));
  CHECK(p["termsOfServiceAgreed"] == true);
  CHECK(p["contact"][0] == "mailto:a@example.com");
}
