// One certificate order from start to finish, as RFC 8555 §7.4 describes it:
// newOrder -> solve every authorization (concurrently) -> finalize with the
// CSR -> download the chain.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/acme/order.hpp"
#include "core/acme/solver.hpp"

namespace certroute::acme {

struct IssueOptions {
  std::vector<Identifier> identifiers;
  std::string csr_der;
  std::string preferred_chain;  // issuer CN of the topmost certificate
  NewOrderOptions order;
  double timeout_seconds = 120;  // for all polling of this order
  // One line per step for the user; may be empty.
  std::function<void(const std::string&)> progress;
};

struct IssuedCertificate {
  std::string order_url;
  std::string certificate_url;
  std::string chain_pem;  // leaf first
};

// Polling intervals: 50 ms growing x1.5 to at most 2 s; a server's
// Retry-After (capped at the time left) wins.
double next_poll_delay(double previous, long retry_after, double time_left);

Result<IssuedCertificate> issue_certificate(Client& client, Solver& solver, const IssueOptions& options);

}  // namespace certroute::acme
