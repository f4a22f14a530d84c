// Which certificates are due for renewal. Pure decisions over an injected
// clock, so every branch is unit-tested without waiting.
#pragma once

#include <optional>
#include <string>

namespace certroute::renew {

struct AriWindow {
  long start = 0, end = 0;  // unix seconds
  std::string explanation_url;
};

struct DueInput {
  long now = 0;
  long not_before = 0, not_after = 0;
  std::optional<long> days;           // --days N overrides the lifetime rule
  std::optional<AriWindow> ari;       // the server's suggested window, when known
  std::string ari_seed;               // stable per certificate (name + serial): where in the window to renew
  bool force = false;
};

struct DueDecision {
  bool due = false;
  std::string reason;  // "61 days left", "ARI window opened 2027-01-02", "forced"
};

// Lifetime rule without ARI: due when less than a third of the lifetime is
// left (half when the lifetime is under 10 days), or fewer than --days days.
// With ARI: due once now is past a point inside the window that is chosen
// pseudo-randomly but stays the same for the same certificate and window.
DueDecision decide(const DueInput& in);

// The renewal point inside an ARI window for a seed.
long ari_renewal_point(const AriWindow& w, const std::string& seed);

std::string format_days(long seconds);

}  // namespace certroute::renew
