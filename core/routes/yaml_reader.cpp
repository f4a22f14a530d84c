// YAML (and YAML-compatible) files through yaml-cpp's event parser: the tree
// is built here, so positions, duplicate keys, merge keys, alias expansion and
// nesting depth are all under our control.
#include <cctype>
#include <istream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include "core/routes/document.hpp"

namespace certroute::routes {
namespace {

// Thrown by the builder to stop the parser; carries the diagnostic.
struct Stop {
  std::size_t offset;
  std::string message;
};

std::size_t count_nodes(const DocNode& n) {
  std::size_t c = 1;
  for (const auto& i : n.items) c += count_nodes(i);
  for (const auto& e : n.entries) c += 1 + count_nodes(e.value);
  return c;
}

class Builder : public YAML::EventHandler {
 public:
  Builder(const ReadInput& in, Diagnostics& diags) : in_(in), diags_(diags) {}

  DocNode root;
  bool have_root = false;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    DocNode n;
    n.pos = pos(mark);
    complete(std::move(n), anchor, offset(mark));
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw Stop{offset(mark), "unknown alias"};
    alias_nodes_ += count_nodes(it->second);
    if (alias_nodes_ > in_.limits.max_alias_nodes)
      throw Stop{offset(mark), "YAML aliases expand to more than " + std::to_string(in_.limits.max_alias_nodes) +
                                   " nodes (a \"billion laughs\" document?)"};
    DocNode copy = it->second;
    complete(std::move(copy), 0, offset(mark), /*from_alias=*/true);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    DocNode n;
    n.pos = pos(mark);
    const bool plain = tag == "?";
    if (plain && (value.empty() || value == "~" || value == "null" || value == "Null" || value == "NULL")) {
      complete(std::move(n), anchor, offset(mark));
      return;
    }
    n.kind = DocNode::Kind::scalar;
    n.quoted = !plain;
    n.text = value;
    // Map columns inside the value to the file when the source holds it verbatim.
    std::size_t off = offset(mark);
    std::string_view src = in_.text;
    if (off < src.size()) {
      std::size_t start = off;
      if (src[off] == '"' || src[off] == '\'') ++start;
      if (src.substr(start, value.size()) == value && value.find('\n') == std::string::npos) n.text_offset = start;
      std::size_t end = start + value.size() + 1;
      n.templated = overlaps_template(in_.templates, off, end);
    }
    complete(std::move(n), anchor, off);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    push(mark, DocNode::Kind::sequence, anchor);
  }
  void OnSequenceEnd() override { pop(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    push(mark, DocNode::Kind::mapping, anchor);
  }
  void OnMapEnd() override { pop(); }

 private:
  struct Frame {
    DocNode node;
    YAML::anchor_t anchor = 0;
    std::size_t offset = 0;
    bool have_key = false;
    bool key_is_merge = false;
    std::string key;
    Pos key_pos;
    std::size_t key_offset = 0;
    std::unordered_set<std::string> keys;  // filled once the mapping grows large
    std::vector<DocNode> merges;           // "<<" sources, applied at the end
  };

  std::size_t offset(const YAML::Mark& m) const { return m.pos < 0 ? 0 : static_cast<std::size_t>(m.pos); }
  Pos pos(const YAML::Mark& m) const { return in_.sources.pos_at(in_.file, offset(m)); }

  void push(const YAML::Mark& mark, DocNode::Kind kind, YAML::anchor_t anchor) {
    if (static_cast<int>(stack_.size()) >= in_.limits.max_depth)
      throw Stop{offset(mark), "nesting deeper than " + std::to_string(in_.limits.max_depth) + " levels"};
    Frame f;
    f.node.kind = kind;
    f.node.pos = pos(mark);
    f.anchor = anchor;
    f.offset = offset(mark);
    stack_.push_back(std::move(f));
  }

  void pop() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.node.is_mapping() && !f.merges.empty()) apply_merges(f);
    complete(std::move(f.node), f.anchor, f.offset);
  }

  bool has_key(Frame& f, const std::string& key) {
    if (!f.keys.empty()) return f.keys.count(key) != 0;
    for (const auto& e : f.node.entries)
      if (e.key == key) return true;
    return false;
  }

  void add_entry(Frame& f, std::string key, Pos key_pos, DocNode value) {
    if (f.node.entries.size() == 32 && f.keys.empty()) {
      for (const auto& e : f.node.entries) f.keys.insert(e.key);
    }
    if (!f.keys.empty()) f.keys.insert(key);
    DocEntry e;
    e.written = key;
    e.key = std::move(key);
    e.key_pos = key_pos;
    e.value = std::move(value);
    f.node.entries.push_back(std::move(e));
  }

  // YAML merge keys ("<<: *base"): entries of the merged mappings that the
  // mapping does not set itself. Earlier sources win over later ones.
  void apply_merges(Frame& f) {
    for (auto& src : f.merges) {
      std::vector<const DocNode*> maps;
      if (src.is_mapping()) maps.push_back(&src);
      if (src.is_sequence())
        for (const auto& i : src.items)
          if (i.is_mapping()) maps.push_back(&i);
      for (const DocNode* m : maps)
        for (const auto& e : m->entries)
          if (!has_key(f, e.key)) add_entry(f, e.key, e.key_pos, e.value);
    }
  }

  void complete(DocNode&& n, YAML::anchor_t anchor, std::size_t off, bool from_alias = false) {
    if (anchor != 0) anchors_[anchor] = n;
    if (stack_.empty()) {
      root = std::move(n);
      have_root = true;
      return;
    }
    Frame& f = stack_.back();
    if (f.node.is_sequence()) {
      f.node.items.push_back(std::move(n));
      return;
    }
    if (!f.have_key) {
      if (n.is_mapping() || n.is_sequence()) throw Stop{off, "a mapping key must be a plain value, not a collection"};
      f.have_key = true;
      f.key_is_merge = !n.quoted && n.text == "<<" && !from_alias;
      f.key = n.text;
      f.key_pos = n.pos;
      f.key_offset = off;
      return;
    }
    f.have_key = false;
    if (f.key_is_merge) {
      if (!n.is_mapping() && !n.is_sequence())
        throw Stop{f.key_offset, "the merge key '<<' needs a mapping or a list of mappings"};
      f.merges.push_back(std::move(n));
      return;
    }
    if (has_key(f, f.key)) {
      const DocEntry* first = nullptr;
      for (const auto& e : f.node.entries)
        if (e.key == f.key) first = &e;
      std::string where = first ? " (first at line " + std::to_string(first->key_pos.line) + ")" : "";
      diags_.add(Code::duplicate_key, f.key_pos, "duplicate key '" + f.key + "' in this mapping" + where);
      return;
    }
    add_entry(f, std::move(f.key), f.key_pos, std::move(n));
  }

  const ReadInput& in_;
  Diagnostics& diags_;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, DocNode> anchors_;
  std::size_t alias_nodes_ = 0;
};

// Discards the events of a further document.
class Discard : public YAML::EventHandler {
 public:
  int start = -1;  // byte offset where the document starts
  void OnDocumentStart(const YAML::Mark& m) override { start = m.pos; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    if (++depth_ > 128) throw Stop{0, ""};
  }
  void OnSequenceEnd() override { --depth_; }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    if (++depth_ > 128) throw Stop{0, ""};
  }
  void OnMapEnd() override { --depth_; }

 private:
  int depth_ = 0;
};

// yaml-cpp's messages start with "yaml-cpp: error at line L, column C: ".
std::string clean_message(const YAML::Exception& e) {
  std::string m = e.msg;
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}

}  // namespace

bool read_yaml(const ReadInput& in, DocNode& root, Diagnostics& diags) {
  std::istringstream stream{std::string(in.text)};
  YAML::Parser parser(stream);
  Builder builder(in, diags);
  try {
    parser.HandleNextDocument(builder);
  } catch (const Stop& s) {
    diags.add(Code::syntax, in.sources.pos_at(in.file, s.offset), s.message);
    return false;
  } catch (const YAML::Exception& e) {
    std::size_t off = e.mark.pos < 0 ? 0 : static_cast<std::size_t>(e.mark.pos);
    diags.add(Code::syntax, in.sources.pos_at(in.file, off), "invalid YAML: " + clean_message(e));
    return false;
  } catch (const std::exception& e) {
    diags.add(Code::syntax, Pos{in.file, 0, 0}, std::string("invalid YAML: ") + e.what());
    return false;
  }
  root = std::move(builder.root);
  // Traefik reads only the first document of a file.
  Discard d;
  bool more = false;
  try {
    more = parser.HandleNextDocument(d);
  } catch (...) {
    more = true;
  }
  if (more) {
    std::size_t at = d.start >= 0 ? static_cast<std::size_t>(d.start) : in.text.size();
    diags.add(Code::file_ignored, in.sources.pos_at(in.file, at),
              "only the first YAML document of a file is read; Traefik ignores the rest of the file");
  }
  return true;
}

}  // namespace certroute::routes
