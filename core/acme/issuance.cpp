#include "core/acme/issuance.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/acme/jws.hpp"

namespace certroute::acme {
using util::Error;
using util::ErrorKind;
using util::fail;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string fmt_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

std::string display(const Identifier& id) { return id.value; }

struct Pending {
  Authorization authz;
  const Challenge* challenge = nullptr;
  std::string key_authz;
  bool presented = false;
  bool done = false;
  double delay = 0;
  Clock::time_point started, next_poll;
};

Error challenge_failure(const Pending& p, const Authorization& a) {
  std::string why = "the authorization became " + a.status;
  for (const auto& c : a.challenges)
    if (c.error) why = c.error->describe();
  return Error(ErrorKind::problem,
               "authorizing " + display(a.identifier) + " (" + std::string(p.challenge ? p.challenge->type : "?") + "): " + why);
}

}  // namespace

double next_poll_delay(double previous, long retry_after, double time_left) {
  double d = previous <= 0 ? 0.05 : std::min(previous * 1.5, 2.0);
  if (retry_after >= 0) d = static_cast<double>(retry_after);
  return std::max(0.0, std::min(d, time_left));
}

Result<IssuedCertificate> issue_certificate(Client& client, Solver& solver, const IssueOptions& options) {
  auto say = [&](const std::string& s) {
    if (options.progress) options.progress(s);
  };
  const auto start = Clock::now();
  auto time_left = [&] { return options.timeout_seconds - seconds_since(start); };

  auto order = new_order(client, options.identifiers, options.order);
  if (!order) return fail(std::move(order.error()));
  if (order->status == "invalid")
    return fail(ErrorKind::problem, "the new order is invalid" + (order->error ? ": " + order->error->describe() : ""));

  // Fetch every authorization and present every challenge before telling the
  // server anything, so all of them are validated concurrently.
  std::vector<Pending> pending;
  for (const auto& url : order->authorizations) {
    auto a = fetch_authorization(client, url);
    if (!a) return fail(std::move(a.error()));
    if (a->status == "valid") {
      say("authorizing " + display(a->identifier) + ": already valid");
      continue;
    }
    if (a->status != "pending")
      return fail(ErrorKind::problem, "authorizing " + display(a->identifier) + ": the authorization is " + a->status);
    Pending p;
    p.authz = std::move(*a);
    p.challenge = p.authz.find(solver.type());
    if (!p.challenge) {
      std::string offered;
      for (const auto& c : p.authz.challenges) offered += (offered.empty() ? "" : ", ") + c.type;
      return fail(util::Error(ErrorKind::problem, "authorizing " + display(p.authz.identifier) + ": the server offers no " +
                                                      std::string(solver.type()) + " challenge (only " + offered + ")")
                      .with_hint(p.authz.wildcard ? "wildcard names need --challenge dns-01" : "choose another --challenge"));
    }
    auto ka = key_authorization(client.account_key(), p.challenge->token);
    if (!ka) return fail(std::move(ka.error()));
    p.key_authz = *ka;
    pending.push_back(std::move(p));
  }

  // Whatever happens from here, undo what was presented.
  struct Cleanup {
    Solver& solver;
    std::vector<Pending>& pending;
    ~Cleanup() {
      for (auto& p : pending)
        if (p.presented) solver.cleanup(p.authz.identifier, p.challenge->token, p.key_authz);
    }
  } cleanup{solver, pending};

  for (auto& p : pending) {
    auto r = solver.present(p.authz.identifier, p.challenge->token, p.key_authz);
    if (!r) return fail(std::move(r.error()));
    p.presented = true;
  }
  if (!pending.empty()) {
    if (auto r = solver.ready(); !r) return fail(std::move(r.error()));
  }
  for (auto& p : pending) {
    auto r = respond_challenge(client, p.challenge->url);
    if (!r) return fail(std::move(r.error()).context("authorizing " + display(p.authz.identifier)));
    p.started = Clock::now();
    p.delay = next_poll_delay(0, -1, time_left());
    p.next_poll = p.started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(p.delay));
  }

  // Poll all pending authorizations, each on its own backoff schedule.
  for (;;) {
    auto next = std::find_if(pending.begin(), pending.end(), [](const Pending& p) { return !p.done; });
    if (next == pending.end()) break;
    for (auto it = pending.begin(); it != pending.end(); ++it)
      if (!it->done && it->next_poll < next->next_poll) next = it;
    auto wait = std::chrono::duration<double>(next->next_poll - Clock::now()).count();
    if (time_left() <= 0)
      return fail(ErrorKind::remote, "authorizing " + display(next->authz.identifier) + ": still " + next->authz.status +
                                         " after " + fmt_seconds(options.timeout_seconds) + " (--timeout)");
    client.sleep(std::min(wait, time_left()));
    auto a = fetch_authorization(client, next->authz.url);
    if (!a) return fail(std::move(a.error()));
    if (a->status == "valid") {
      next->done = true;
      say("authorizing " + display(a->identifier) + " (" + std::string(solver.type()) + ")... valid in " +
          fmt_seconds(seconds_since(next->started)));
      continue;
    }
    if (a->status != "pending" && a->status != "processing") return fail(challenge_failure(*next, *a));
    next->delay = next_poll_delay(next->delay, a->retry_after, time_left());
    next->next_poll = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(next->delay));
  }

  // The order is "ready" once every authorization is valid; finalize it.
  double delay = 0;
  auto o = fetch_order(client, order->url);
  if (!o) return fail(std::move(o.error()));
  while (o->status == "pending") {
    if (time_left() <= 0) return fail(ErrorKind::remote, "the order is still pending after --timeout");
    delay = next_poll_delay(delay, o->retry_after, time_left());
    client.sleep(delay);
    o = fetch_order(client, order->url);
    if (!o) return fail(std::move(o.error()));
  }
  if (o->status == "invalid")
    return fail(ErrorKind::problem, "the order became invalid" + (o->error ? ": " + o->error->describe() : ""));
  if (o->status == "ready") {
    auto t = Clock::now();
    auto f = finalize_order(client, *o, options.csr_der);
    if (!f) return fail(std::move(f.error()));
    o = std::move(f);
    delay = 0;
    while (o->status == "processing" || o->status == "ready") {
      if (time_left() <= 0) return fail(ErrorKind::remote, "the order is still processing after --timeout");
      delay = next_poll_delay(delay, o->retry_after, time_left());
      client.sleep(delay);
      o = fetch_order(client, order->url);
      if (!o) return fail(std::move(o.error()));
    }
    if (o->status != "valid")
      return fail(ErrorKind::problem, "finalizing: the order became " + o->status + (o->error ? ": " + o->error->describe() : ""));
    say("finalizing... valid in " + fmt_seconds(seconds_since(t)));
  }
  if (o->status != "valid" || o->certificate.empty())
    return fail(ErrorKind::remote, "the order is " + o->status + " without a certificate URL");

  auto chain = download_certificate(client, o->certificate, options.preferred_chain);
  if (!chain) return fail(std::move(chain.error()));
  return IssuedCertificate{order->url, o->certificate, std::move(*chain)};
}

}  // namespace certroute::acme
