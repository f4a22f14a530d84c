#include "core/renew/plan.hpp"

#include <ctime>

namespace certroute::renew {

namespace {
std::string date(long t) {
  std::time_t tt = t;
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

// FNV-1a: a stable, well-spread hash (std::hash may differ between builds).
unsigned long long fnv1a(const std::string& s) {
  unsigned long long h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}
}  // namespace

std::string format_days(long seconds) {
  long days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
  if (seconds >= 0 && seconds < 86400) {
    long hours = seconds / 3600;
    return std::to_string(hours) + (hours == 1 ? " hour" : " hours");
  }
  return std::to_string(days) + (days == 1 || days == -1 ? " day" : " days");
}

long ari_renewal_point(const AriWindow& w, const std::string& seed) {
  if (w.end <= w.start) return w.start;
  unsigned long long span = static_cast<unsigned long long>(w.end - w.start);
  return w.start + static_cast<long>(fnv1a(seed + "|" + std::to_string(w.start) + "|" + std::to_string(w.end)) % span);
}

DueDecision decide(const DueInput& in) {
  long left = in.not_after - in.now;
  if (in.force) return {true, "forced"};
  if (left <= 0) return {true, "expired " + date(in.not_after)};
  if (in.days) {
    if (left < *in.days * 86400) return {true, format_days(left) + " left, fewer than " + std::to_string(*in.days)};
    return {false, format_days(left) + " left"};
  }
  if (in.ari) {
    long point = ari_renewal_point(*in.ari, in.ari_seed);
    if (in.now >= point) return {true, "inside the CA's renewal window since " + date(in.ari->start)};
    return {false, format_days(left) + " left; the CA's renewal window opens " + date(in.ari->start)};
  }
  long lifetime = in.not_after - in.not_before;
  bool short_lived = lifetime < 10 * 86400;
  long threshold = short_lived ? lifetime / 2 : lifetime / 3;
  if (left < threshold)
    return {true, format_days(left) + " left, less than " + (short_lived ? "half" : "a third") + " of the lifetime"};
  return {false, format_days(left) + " left"};
}

}  // namespace certroute::renew
