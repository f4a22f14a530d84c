// A unique_ptr deleter that calls a C library's free function:
//   std::unique_ptr<X509, util::Deleter<X509_free>>
#pragma once

namespace certroute::util {

template <auto Fn>
struct Deleter {
  template <typename T>
  void operator()(T* p) const { Fn(p); }
};

}  // namespace certroute::util
