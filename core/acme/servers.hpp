// Known ACME servers: aliases for --server. One table feeds parsing, --help,
// the man page and the completions.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/util/error.hpp"

namespace certroute::acme {

struct ServerAlias {
  std::string_view name;
  std::string_view directory_url;
  std::string_view staging;  // the alias of its staging server ("" if none / is staging)
};

std::span<const ServerAlias> server_aliases();
inline constexpr std::string_view default_server = "letsencrypt";

// An alias becomes its directory URL; an https:// (or http://) URL is kept;
// anything else is a usage error listing the aliases.
util::Result<std::string> resolve_server(std::string_view alias_or_url);

}  // namespace certroute::acme
