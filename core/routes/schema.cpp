// Traefik v3 dynamic configuration (pkg/config/dynamic, pkg/tls), field by
// field. Everything here is constexpr: the table costs nothing at start-up.
#include "core/routes/schema.hpp"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace certroute::routes::schema {
namespace {

// Field constructors, to keep the table one line per field.
constexpr Field S(std::string_view n, Check c = Check::none) { return {n, Type::string, nullptr, c}; }
constexpr Field I(std::string_view n, Check c = Check::none) { return {n, Type::integer, nullptr, c}; }
constexpr Field B(std::string_view n) { return {n, Type::boolean}; }
constexpr Field D(std::string_view n) { return {n, Type::duration}; }
constexpr Field L(std::string_view n, Check c = Check::none) { return {n, Type::string_list, nullptr, c}; }
constexpr Field SM(std::string_view n) { return {n, Type::string_map}; }
constexpr Field IM(std::string_view n) { return {n, Type::int_map}; }
constexpr Field O(std::string_view n, const Struct& s) { return {n, Type::object, &s}; }
constexpr Field OL(std::string_view n, const Struct& s) { return {n, Type::object_list, &s}; }
constexpr Field OM(std::string_view n, const Struct& s) { return {n, Type::object_map, &s}; }
constexpr Field ANY(std::string_view n) { return {n, Type::any}; }
constexpr Field DEP(Field f, std::string_view advice) {
  f.deprecated = advice;
  return f;
}

// ---- shared pieces ----------------------------------------------------------

constexpr Field kDomainFields[] = {S("main"), L("sans")};
constexpr Struct kDomain{"domain", kDomainFields};

constexpr Field kCertificateFields[] = {S("certFile"), S("keyFile")};
constexpr Struct kCertificate{"certificate", kCertificateFields};

constexpr Field kSpiffeFields[] = {L("ids"), S("trustDomain")};
constexpr Struct kSpiffe{"spiffe", kSpiffeFields};

constexpr Struct kEmptyHealthCheck{"healthCheck", {}};

constexpr Field kClientTlsFields[] = {S("ca"), S("cert"), S("key"), B("insecureSkipVerify"),
                                      DEP(B("caOptional"), "caOptional has no effect in Traefik v3; remove it")};
constexpr Struct kClientTls{"tls", kClientTlsFields};

constexpr Field kIpStrategyFields[] = {I("depth"), L("excludedIPs", Check::ip_ranges), I("ipv6Subnet")};
constexpr Struct kIpStrategy{"ipStrategy", kIpStrategyFields};

constexpr Field kSourceCriterionFields[] = {O("ipStrategy", kIpStrategy), S("requestHeaderName"), B("requestHost")};
constexpr Struct kSourceCriterion{"sourceCriterion", kSourceCriterionFields};

// ---- HTTP routers -----------------------------------------------------------

constexpr Field kRouterTlsFields[] = {S("options"), S("certResolver"), OL("domains", kDomain)};
constexpr Struct kRouterTls{"router tls", kRouterTlsFields};

constexpr Field kObservabilityFields[] = {B("accessLogs"), B("metrics"), B("tracing"), S("traceVerbosity")};
constexpr Struct kObservability{"observability", kObservabilityFields};

constexpr Field kRouterFields[] = {
    L("entryPoints"), L("middlewares"), S("service"),       S("rule"), S("ruleSyntax", Check::rule_syntax),
    I("priority"),    O("tls", kRouterTls), O("observability", kObservability), L("parentRefs"),
};
constexpr Struct kRouter{"router", kRouterFields};

// ---- HTTP services ----------------------------------------------------------

constexpr Field kCookieFields[] = {S("name"),   B("secure"), B("httpOnly"), S("sameSite", Check::same_site),
                                   I("maxAge"), S("path"),   S("domain")};
constexpr Struct kCookie{"cookie", kCookieFields};

constexpr Field kStickyFields[] = {O("cookie", kCookie)};
constexpr Struct kSticky{"sticky", kStickyFields};

constexpr Field kServerFields[] = {S("url"), I("weight", Check::non_negative), B("preservePath")};
constexpr Struct kServer{"server", kServerFields};

constexpr Field kServerHealthCheckFields[] = {
    S("scheme"),   S("mode", Check::health_mode), S("path"),       S("method"),  I("status"),
    I("port"),     D("interval"),                 D("unhealthyInterval"),         D("timeout"),
    S("hostname"), B("followRedirects"),          SM("headers"),
};
constexpr Struct kServerHealthCheck{"healthCheck", kServerHealthCheckFields};

constexpr Field kPassiveHealthCheckFields[] = {D("failureWindow"), I("maxFailedAttempts")};
constexpr Struct kPassiveHealthCheck{"passiveHealthCheck", kPassiveHealthCheckFields};

constexpr Field kResponseForwardingFields[] = {D("flushInterval")};
constexpr Struct kResponseForwarding{"responseForwarding", kResponseForwardingFields};

constexpr Field kLoadBalancerFields[] = {
    O("sticky", kSticky),
    OL("servers", kServer),
    S("strategy"),
    O("healthCheck", kServerHealthCheck),
    O("passiveHealthCheck", kPassiveHealthCheck),
    B("passHostHeader"),
    O("responseForwarding", kResponseForwarding),
    S("serversTransport"),
};
constexpr Struct kLoadBalancer{"load balancer", kLoadBalancerFields};

constexpr Field kWrrServiceFields[] = {S("name"), I("weight", Check::non_negative)};
constexpr Struct kWrrService{"weighted service", kWrrServiceFields};

constexpr Field kWeightedFields[] = {OL("services", kWrrService), O("sticky", kSticky),
                                     O("healthCheck", kEmptyHealthCheck)};
constexpr Struct kWeighted{"weighted", kWeightedFields};

constexpr Field kMirrorFields[] = {S("name"), I("percent", Check::non_negative)};
constexpr Struct kMirror{"mirror", kMirrorFields};

constexpr Field kMirroringFields[] = {S("service"), B("mirrorBody"), I("maxBodySize"), OL("mirrors", kMirror),
                                      O("healthCheck", kEmptyHealthCheck)};
constexpr Struct kMirroring{"mirroring", kMirroringFields};

constexpr Field kFailoverFields[] = {S("service"), S("fallback"), O("healthCheck", kEmptyHealthCheck)};
constexpr Struct kFailover{"failover", kFailoverFields};

constexpr Field kHrwFields[] = {OL("services", kWrrService), O("healthCheck", kEmptyHealthCheck)};
constexpr Struct kHrw{"highestRandomWeight", kHrwFields};

constexpr Field kServiceFields[] = {O("loadBalancer", kLoadBalancer), O("weighted", kWeighted),
                                    O("mirroring", kMirroring), O("failover", kFailover),
                                    O("highestRandomWeight", kHrw)};
constexpr Struct kService{"service", kServiceFields};

// ---- HTTP middlewares -------------------------------------------------------

constexpr Field kAddPrefixFields[] = {S("prefix")};
constexpr Field kBasicAuthFields[] = {L("users"), S("usersFile"), S("realm"), B("removeHeader"), S("headerField")};
constexpr Field kBufferingFields[] = {I("maxRequestBodyBytes"), I("memRequestBodyBytes"), I("maxResponseBodyBytes"),
                                      I("memResponseBodyBytes"), S("retryExpression")};
constexpr Field kChainFields[] = {L("middlewares")};
constexpr Field kCircuitBreakerFields[] = {S("expression"), D("checkPeriod"), D("fallbackDuration"),
                                           D("recoveryDuration"), I("responseCode")};
constexpr Field kCompressFields[] = {L("excludedContentTypes"), L("includedContentTypes"), I("minResponseBodyBytes"),
                                     L("encodings"), S("defaultEncoding")};
constexpr Field kContentTypeFields[] = {B("autoDetect")};
constexpr Field kErrorsFields[] = {L("status"), S("service"), S("query"), IM("statusRewrites")};
constexpr Field kForwardAuthFields[] = {
    S("address"),           O("tls", kClientTls),         B("trustForwardHeader"),    L("authResponseHeaders"),
    S("authResponseHeadersRegex"), L("authRequestHeaders"), L("addAuthCookiesToResponse"), S("headerField"),
    B("forwardBody"),       I("maxBodySize"),             B("preserveLocationHeader"), B("preserveRequestMethod"),
    I("maxResponseBodySize"),
};
constexpr Field kGrpcWebFields[] = {L("allowOrigins")};
constexpr Field kHeadersFields[] = {
    SM("customRequestHeaders"),
    SM("customResponseHeaders"),
    B("accessControlAllowCredentials"),
    L("accessControlAllowHeaders"),
    L("accessControlAllowMethods"),
    L("accessControlAllowOriginList"),
    L("accessControlAllowOriginListRegex"),
    L("accessControlExposeHeaders"),
    I("accessControlMaxAge"),
    B("addVaryHeader"),
    L("allowedHosts"),
    L("hostsProxyHeaders"),
    SM("sslProxyHeaders"),
    I("stsSeconds"),
    B("stsIncludeSubdomains"),
    B("stsPreload"),
    B("forceSTSHeader"),
    B("frameDeny"),
    S("customFrameOptionsValue"),
    B("contentTypeNosniff"),
    B("browserXssFilter"),
    S("customBrowserXSSValue"),
    S("contentSecurityPolicy"),
    S("contentSecurityPolicyReportOnly"),
    S("publicKey"),
    S("referrerPolicy"),
    S("permissionsPolicy"),
    B("isDevelopment"),
    DEP(B("sslRedirect"), "use the redirectScheme middleware or an entry-point redirection instead"),
    DEP(B("sslTemporaryRedirect"), "use the redirectScheme middleware or an entry-point redirection instead"),
    DEP(S("sslHost"), "use the redirectRegex middleware instead"),
    DEP(B("sslForceHost"), "use the redirectRegex middleware instead"),
    DEP(S("featurePolicy"), "use permissionsPolicy instead"),
};
constexpr Field kInFlightReqFields[] = {I("amount"), O("sourceCriterion", kSourceCriterion)};
constexpr Field kIpAllowListFields[] = {L("sourceRange", Check::ip_ranges), O("ipStrategy", kIpStrategy),
                                        I("rejectStatusCode")};
constexpr Field kIpWhiteListFields[] = {L("sourceRange", Check::ip_ranges), O("ipStrategy", kIpStrategy)};

constexpr Field kDnFields[] = {B("country"),      B("province"),   B("locality"),     B("organization"),
                               B("organizationalUnit"), B("commonName"), B("serialNumber"), B("domainComponent")};
constexpr Struct kSubjectInfo{"subject", kDnFields};
constexpr Field kIssuerDnFields[] = {B("country"),    B("province"),     B("locality"),       B("organization"),
                                     B("commonName"), B("serialNumber"), B("domainComponent")};
constexpr Struct kIssuerInfo{"issuer", kIssuerDnFields};
constexpr Field kCertInfoFields[] = {B("notAfter"), B("notBefore"), B("sans"), B("serialNumber"),
                                     O("subject", kSubjectInfo), O("issuer", kIssuerInfo)};
constexpr Struct kCertInfo{"info", kCertInfoFields};
constexpr Field kPassTlsClientCertFields[] = {B("pem"), O("info", kCertInfo)};

constexpr Field kRedisFields[] = {L("endpoints"),  O("tls", kClientTls), S("username"),       S("password"),
                                  I("db"),         I("poolSize"),       I("minIdleConns"),   I("maxActiveConns"),
                                  D("readTimeout"), D("writeTimeout"),   D("dialTimeout")};
constexpr Struct kRedis{"redis", kRedisFields};
constexpr Field kRateLimitFields[] = {I("average"), D("period"), I("burst"), O("sourceCriterion", kSourceCriterion),
                                      O("redis", kRedis)};
constexpr Field kRedirectRegexFields[] = {S("regex"), S("replacement"), B("permanent")};
constexpr Field kRedirectSchemeFields[] = {S("scheme"), S("port"), B("permanent")};
constexpr Field kReplacePathFields[] = {S("path")};
constexpr Field kReplacePathRegexFields[] = {S("regex"), S("replacement")};
constexpr Field kRetryFields[] = {I("attempts"), D("initialInterval"), D("timeout"), L("status"),
                                  B("disableRetryOnNetworkError"), B("retryNonIdempotentMethod")};
constexpr Field kStripPrefixFields[] = {L("prefixes"),
                                        DEP(B("forceSlash"), "forceSlash has no effect in Traefik v3; remove it")};
constexpr Field kStripPrefixRegexFields[] = {L("regex")};

constexpr Struct kAddPrefix{"addPrefix", kAddPrefixFields};
constexpr Struct kBasicAuth{"basicAuth", kBasicAuthFields};
constexpr Struct kBuffering{"buffering", kBufferingFields};
constexpr Struct kChain{"chain", kChainFields};
constexpr Struct kCircuitBreaker{"circuitBreaker", kCircuitBreakerFields};
constexpr Struct kCompress{"compress", kCompressFields};
constexpr Struct kContentType{"contentType", kContentTypeFields};
constexpr Struct kDigestAuth{"digestAuth", kBasicAuthFields};
constexpr Struct kErrors{"errors", kErrorsFields};
constexpr Struct kForwardAuth{"forwardAuth", kForwardAuthFields};
constexpr Struct kGrpcWeb{"grpcWeb", kGrpcWebFields};
constexpr Struct kHeaders{"headers", kHeadersFields};
constexpr Struct kInFlightReq{"inFlightReq", kInFlightReqFields};
constexpr Struct kIpAllowList{"ipAllowList", kIpAllowListFields};
constexpr Struct kIpWhiteList{"ipWhiteList", kIpWhiteListFields};
constexpr Struct kPassTlsClientCert{"passTLSClientCert", kPassTlsClientCertFields};
constexpr Struct kRateLimit{"rateLimit", kRateLimitFields};
constexpr Struct kRedirectRegex{"redirectRegex", kRedirectRegexFields};
constexpr Struct kRedirectScheme{"redirectScheme", kRedirectSchemeFields};
constexpr Struct kReplacePath{"replacePath", kReplacePathFields};
constexpr Struct kReplacePathRegex{"replacePathRegex", kReplacePathRegexFields};
constexpr Struct kRetry{"retry", kRetryFields};
constexpr Struct kStripPrefix{"stripPrefix", kStripPrefixFields};
constexpr Struct kStripPrefixRegex{"stripPrefixRegex", kStripPrefixRegexFields};

// One field per middleware type; a middleware sets exactly one of them.
constexpr Field kMiddlewareFields[] = {
    O("addPrefix", kAddPrefix),
    O("basicAuth", kBasicAuth),
    O("buffering", kBuffering),
    O("chain", kChain),
    O("circuitBreaker", kCircuitBreaker),
    O("compress", kCompress),
    O("contentType", kContentType),
    O("digestAuth", kDigestAuth),
    O("errors", kErrors),
    O("forwardAuth", kForwardAuth),
    O("grpcWeb", kGrpcWeb),
    O("headers", kHeaders),
    O("inFlightReq", kInFlightReq),
    O("ipAllowList", kIpAllowList),
    DEP(O("ipWhiteList", kIpWhiteList), "use ipAllowList instead"),
    O("passTLSClientCert", kPassTlsClientCert),
    ANY("plugin"),
    O("rateLimit", kRateLimit),
    O("redirectRegex", kRedirectRegex),
    O("redirectScheme", kRedirectScheme),
    O("replacePath", kReplacePath),
    O("replacePathRegex", kReplacePathRegex),
    O("retry", kRetry),
    O("stripPrefix", kStripPrefix),
    O("stripPrefixRegex", kStripPrefixRegex),
};
constexpr Struct kMiddleware{"middleware", kMiddlewareFields};

// ---- HTTP servers transports ------------------------------------------------

constexpr Field kForwardingTimeoutsFields[] = {D("dialTimeout"), D("responseHeaderTimeout"), D("idleConnTimeout"),
                                               D("readIdleTimeout"), D("pingTimeout")};
constexpr Struct kForwardingTimeouts{"forwardingTimeouts", kForwardingTimeoutsFields};

constexpr Field kServersTransportFields[] = {
    S("serverName"),          B("insecureSkipVerify"), L("rootCAs"),    OL("certificates", kCertificate),
    I("maxIdleConnsPerHost"), O("forwardingTimeouts", kForwardingTimeouts), B("disableHTTP2"),
    S("peerCertURI"),         O("spiffe", kSpiffe),
};
constexpr Struct kServersTransport{"serversTransport", kServersTransportFields};

constexpr Field kHttpFields[] = {OM("routers", kRouter), OM("services", kService), OM("middlewares", kMiddleware),
                                 OM("serversTransports", kServersTransport)};
constexpr Struct kHttp{"http", kHttpFields};

// ---- TCP ----------------------------------------------------------------------

constexpr Field kTcpRouterTlsFields[] = {B("passthrough"), S("options"), S("certResolver"), OL("domains", kDomain)};
constexpr Struct kTcpRouterTls{"TCP router tls", kTcpRouterTlsFields};

constexpr Field kTcpRouterFields[] = {L("entryPoints"), L("middlewares"), S("service"), S("rule"),
                                      S("ruleSyntax", Check::rule_syntax), I("priority"), O("tls", kTcpRouterTls)};
constexpr Struct kTcpRouter{"TCP router", kTcpRouterFields};

constexpr Field kProxyProtocolFields[] = {I("version")};
constexpr Struct kProxyProtocol{"proxyProtocol", kProxyProtocolFields};

constexpr Field kTcpServerFields[] = {S("address"), B("tls"), I("weight", Check::non_negative)};
constexpr Struct kTcpServer{"TCP server", kTcpServerFields};

constexpr Field kTcpHealthCheckFields[] = {I("port"),     S("send"),    S("expect"),
                                           D("interval"), D("unhealthyInterval"), D("timeout")};
constexpr Struct kTcpHealthCheck{"TCP healthCheck", kTcpHealthCheckFields};

constexpr Field kTcpLoadBalancerFields[] = {
    DEP(O("proxyProtocol", kProxyProtocol), "set proxyProtocol on a TCP serversTransport instead"),
    OL("servers", kTcpServer),
    S("serversTransport"),
    DEP(I("terminationDelay"), "set terminationDelay on a TCP serversTransport instead"),
    O("healthCheck", kTcpHealthCheck),
};
constexpr Struct kTcpLoadBalancer{"TCP load balancer", kTcpLoadBalancerFields};

constexpr Field kTcpWeightedFields[] = {OL("services", kWrrService), O("healthCheck", kEmptyHealthCheck)};
constexpr Struct kTcpWeighted{"TCP weighted", kTcpWeightedFields};

constexpr Field kTcpServiceFields[] = {O("loadBalancer", kTcpLoadBalancer), O("weighted", kTcpWeighted)};
constexpr Struct kTcpService{"TCP service", kTcpServiceFields};

constexpr Field kInFlightConnFields[] = {I("amount")};
constexpr Struct kInFlightConn{"inFlightConn", kInFlightConnFields};
constexpr Field kTcpIpListFields[] = {L("sourceRange", Check::ip_ranges)};
constexpr Struct kTcpIpAllowList{"ipAllowList", kTcpIpListFields};
constexpr Struct kTcpIpWhiteList{"ipWhiteList", kTcpIpListFields};

constexpr Field kTcpMiddlewareFields[] = {O("inFlightConn", kInFlightConn), O("ipAllowList", kTcpIpAllowList),
                                          DEP(O("ipWhiteList", kTcpIpWhiteList), "use ipAllowList instead")};
constexpr Struct kTcpMiddleware{"TCP middleware", kTcpMiddlewareFields};

constexpr Field kTlsClientConfigFields[] = {S("serverName"), B("insecureSkipVerify"), L("rootCAs"),
                                            OL("certificates", kCertificate), S("peerCertURI"), O("spiffe", kSpiffe)};
constexpr Struct kTlsClientConfig{"tls", kTlsClientConfigFields};

constexpr Field kTcpServersTransportFields[] = {D("dialKeepAlive"), D("dialTimeout"),
                                                O("proxyProtocol", kProxyProtocol), D("terminationDelay"),
                                                O("tls", kTlsClientConfig)};
constexpr Struct kTcpServersTransport{"TCP serversTransport", kTcpServersTransportFields};

constexpr Field kTcpFields[] = {OM("routers", kTcpRouter), OM("services", kTcpService),
                                OM("middlewares", kTcpMiddleware), OM("serversTransports", kTcpServersTransport)};
constexpr Struct kTcp{"tcp", kTcpFields};

// ---- UDP ----------------------------------------------------------------------

constexpr Field kUdpRouterFields[] = {L("entryPoints"), S("service")};
constexpr Struct kUdpRouter{"UDP router", kUdpRouterFields};

constexpr Field kUdpServerFields[] = {S("address")};
constexpr Struct kUdpServer{"UDP server", kUdpServerFields};
constexpr Field kUdpLoadBalancerFields[] = {OL("servers", kUdpServer)};
constexpr Struct kUdpLoadBalancer{"UDP load balancer", kUdpLoadBalancerFields};
constexpr Field kUdpWeightedFields[] = {OL("services", kWrrService)};
constexpr Struct kUdpWeighted{"UDP weighted", kUdpWeightedFields};
constexpr Field kUdpServiceFields[] = {O("loadBalancer", kUdpLoadBalancer), O("weighted", kUdpWeighted)};
constexpr Struct kUdpService{"UDP service", kUdpServiceFields};

constexpr Field kUdpFields[] = {OM("routers", kUdpRouter), OM("services", kUdpService)};
constexpr Struct kUdp{"udp", kUdpFields};

// ---- TLS ----------------------------------------------------------------------

constexpr Field kCertAndStoresFields[] = {S("certFile"), S("keyFile"), L("stores")};
constexpr Struct kCertAndStores{"certificate", kCertAndStoresFields};

constexpr Field kClientAuthFields[] = {L("caFiles"), S("clientAuthType", Check::client_auth_type)};
constexpr Struct kClientAuth{"clientAuth", kClientAuthFields};

constexpr Field kTlsOptionsFields[] = {
    S("minVersion", Check::tls_version),
    S("maxVersion", Check::tls_version),
    L("cipherSuites", Check::cipher_suite),
    L("curvePreferences", Check::curve),
    O("clientAuth", kClientAuth),
    B("sniStrict"),
    L("alpnProtocols"),
    B("disableSessionTickets"),
    DEP(B("preferServerCipherSuites"), "Go ignores it since 1.18; remove it"),
};
constexpr Struct kTlsOptions{"TLS options", kTlsOptionsFields};

constexpr Field kGeneratedCertFields[] = {S("resolver"), O("domain", kDomain)};
constexpr Struct kGeneratedCert{"defaultGeneratedCert", kGeneratedCertFields};

constexpr Field kTlsStoreFields[] = {O("defaultCertificate", kCertificate),
                                     O("defaultGeneratedCert", kGeneratedCert)};
constexpr Struct kTlsStore{"TLS store", kTlsStoreFields};

constexpr Field kTlsFields[] = {OL("certificates", kCertAndStores), OM("options", kTlsOptions),
                                OM("stores", kTlsStore)};
constexpr Struct kTls{"tls", kTlsFields};

// ---- root ---------------------------------------------------------------------

constexpr Field kRootFields[] = {O("http", kHttp), O("tcp", kTcp), O("udp", kUdp), O("tls", kTls)};
constexpr Struct kRoot{"dynamic configuration", kRootFields};

// ---- allowed values -----------------------------------------------------------

constexpr std::string_view kTlsVersions[] = {"VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13"};
constexpr std::string_view kCipherSuites[] = {
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_FALLBACK_SCSV",
};
constexpr std::string_view kCurves[] = {"CurveP256", "CurveP384", "CurveP521", "X25519", "X25519MLKEM768",
                                        "secp256r1", "secp384r1", "secp521r1", "x25519"};
constexpr std::string_view kClientAuthTypes[] = {"NoClientCert", "RequestClientCert", "RequireAnyClientCert",
                                                 "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"};
constexpr std::string_view kSameSite[] = {"none", "lax", "strict"};
constexpr std::string_view kRuleSyntax[] = {"v3", "v2"};
constexpr std::string_view kHealthModes[] = {"http", "grpc"};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t sub = prev[j - 1] + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

const Struct& dynamic_configuration() { return kRoot; }

const Field* find_field(const Struct& s, std::string_view key) {
  for (const Field& f : s.fields)
    if (iequals(f.name, key)) return &f;
  return nullptr;
}

std::string_view nearest_field(const Struct& s, std::string_view key) {
  std::string_view best;
  std::size_t best_d = 0;
  for (const Field& f : s.fields) {
    std::size_t d = edit_distance(key, f.name);
    if (best.empty() || d < best_d) {
      best = f.name;
      best_d = d;
    }
  }
  // Close enough: a third of the longer name, at least one edit.
  std::size_t limit = std::max<std::size_t>(1, std::max(key.size(), best.size()) / 3);
  return best_d <= limit ? best : std::string_view{};
}

std::span<const std::string_view> allowed_values(Check check) {
  switch (check) {
    case Check::tls_version: return kTlsVersions;
    case Check::cipher_suite: return kCipherSuites;
    case Check::curve: return kCurves;
    case Check::client_auth_type: return kClientAuthTypes;
    case Check::same_site: return kSameSite;
    case Check::rule_syntax: return kRuleSyntax;
    case Check::health_mode: return kHealthModes;
    default: return {};
  }
}

}  // namespace certroute::routes::schema
