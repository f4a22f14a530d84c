// Shared by the HTTP/1.1 parser fuzz targets: exact-size copies (so ASan
// sees any read past a prefix) and the checks on views.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace certroute::proxy::http1::fuzz {

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) __builtin_trap(); \
  } while (0)

// A heap copy of exactly `text`'s bytes.
class Copy {
 public:
  explicit Copy(std::string_view text) : bytes_(new char[text.size()]), size_(text.size()) {
    if (!text.empty()) std::memcpy(bytes_.get(), text.data(), text.size());
  }
  std::string_view view() const { return {bytes_.get(), size_}; }

 private:
  std::unique_ptr<char[]> bytes_;
  std::size_t size_;
};

inline bool inside(std::string_view part, std::string_view whole) {
  return part.data() == nullptr ? part.empty()
                                : part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// Where `part` starts in `base` (so results from two buffers compare).
inline std::ptrdiff_t offset(std::string_view part, std::string_view base) {
  return part.data() == nullptr ? -1 : part.data() - base.data();
}

inline bool same(std::string_view a, std::string_view abase, std::string_view b, std::string_view bbase) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return offset(a, abase) == offset(b, bbase);
}

}  // namespace certroute::proxy::http1::fuzz
