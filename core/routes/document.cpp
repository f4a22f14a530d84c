#include "core/routes/document.hpp"

#include <algorithm>

namespace certroute::routes {

const DocNode* DocNode::find(std::string_view key) const {
  const DocEntry* e = find_entry(key);
  return e ? &e->value : nullptr;
}

const DocEntry* DocNode::find_entry(std::string_view key) const {
  for (const auto& e : entries)
    if (e.valid && e.key == key) return &e;
  return nullptr;
}

TemplateScan replace_go_templates(std::string_view text) {
  TemplateScan scan;
  scan.text.assign(text);
  std::size_t i = 0;
  while ((i = text.find("{{", i)) != std::string_view::npos) {
    std::size_t end = text.find("}}", i + 2);
    if (end == std::string_view::npos) break;  // not a template: leave it to the parser
    end += 2;
    scan.ranges.emplace_back(i, end);
    i = end;
  }
  if (scan.ranges.empty()) return scan;
  // A line holding nothing but actions and blanks ({{ range }}, {{ end }})
  // becomes blank; an action inside other text becomes placeholder letters
  // of the same length, so the line still parses and positions stay right.
  std::vector<bool> in_action(text.size(), false);
  for (const auto& [b, e] : scan.ranges)
    for (std::size_t k = b; k < e; ++k) in_action[k] = true;
  std::size_t ls = 0;
  while (ls < text.size()) {
    std::size_t le = text.find('\n', ls);
    if (le == std::string_view::npos) le = text.size();
    bool any = false, alone = true;
    for (std::size_t k = ls; k < le; ++k) {
      if (in_action[k]) any = true;
      else if (text[k] != ' ' && text[k] != '\t' && text[k] != '\r') alone = false;
    }
    if (any)
      for (std::size_t k = ls; k < le; ++k)
        if (in_action[k]) scan.text[k] = alone ? ' ' : 'x';
    ls = le + 1;
  }
  return scan;
}

bool overlaps_template(const std::vector<std::pair<std::size_t, std::size_t>>& ranges, std::size_t begin,
                       std::size_t end) {
  // The ranges are sorted and disjoint: find the first that ends after begin.
  auto it = std::upper_bound(ranges.begin(), ranges.end(), begin,
                             [](std::size_t v, const std::pair<std::size_t, std::size_t>& r) { return v < r.second; });
  return it != ranges.end() && it->first < end;
}

}  // namespace certroute::routes
