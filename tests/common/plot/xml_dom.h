// A tiny DOM over expat, for tests that read the SVG the charts write: parsing fails on
// anything that is not well-formed XML.
#ifndef TONTINE_TESTS_COMMON_PLOT_XML_DOM_H_
#define TONTINE_TESTS_COMMON_PLOT_XML_DOM_H_

#include <expat.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace tontine::plot {

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::string text;  // character data directly inside this element
  std::vector<std::unique_ptr<XmlElement>> children;
  const XmlElement* parent = nullptr;

  std::string Attr(const std::string& key) const {
    auto it = attributes.find(key);
    return it == attributes.end() ? "" : it->second;
  }
  double Number(const std::string& key) const { return std::stod(Attr(key)); }
  // The text of the <title> child, or "".
  std::string Title() const {
    for (const auto& c : children) {
      if (c->name == "title") return c->text;
    }
    return "";
  }
  // Every descendant named `name` (any name when empty), with `css_class` when not empty, in
  // document order.
  std::vector<const XmlElement*> FindAll(absl::string_view element,
                                         absl::string_view css_class = "") const {
    std::vector<const XmlElement*> found;
    for (const auto& c : children) {
      if ((element.empty() || c->name == element) &&
          (css_class.empty() || c->Attr("class") == css_class)) {
        found.push_back(c.get());
      }
      std::vector<const XmlElement*> below = c->FindAll(element, css_class);
      found.insert(found.end(), below.begin(), below.end());
    }
    return found;
  }
};

inline absl::StatusOr<std::unique_ptr<XmlElement>> ParseXml(absl::string_view text) {
  struct State {
    std::unique_ptr<XmlElement> root;
    XmlElement* current = nullptr;
  } state;
  XML_Parser parser = XML_ParserCreate("UTF-8");
  XML_SetUserData(parser, &state);
  XML_SetElementHandler(
      parser,
      [](void* data, const XML_Char* name, const XML_Char** attributes) {
        auto* s = static_cast<State*>(data);
        auto element = std::make_unique<XmlElement>();
        element->name = name;
        for (int i = 0; attributes[i] != nullptr; i += 2) {
          element->attributes[attributes[i]] = attributes[i + 1];
        }
        element->parent = s->current;
        XmlElement* raw = element.get();
        if (s->current == nullptr) {
          s->root = std::move(element);
        } else {
          s->current->children.push_back(std::move(element));
        }
        s->current = raw;
      },
      [](void* data, const XML_Char*) {
        auto* s = static_cast<State*>(data);
        s->current = const_cast<XmlElement*>(s->current->parent);
      });
  XML_SetCharacterDataHandler(parser, [](void* data, const XML_Char* chars, int length) {
    auto* s = static_cast<State*>(data);
    if (s->current != nullptr) s->current->text.append(chars, static_cast<size_t>(length));
  });
  const bool ok = XML_Parse(parser, text.data(), static_cast<int>(text.size()), 1) ==
                  XML_STATUS_OK;
  std::string error;
  if (!ok) {
    error = absl::StrCat("not well-formed XML at line ", XML_GetCurrentLineNumber(parser),
                         ", column ", XML_GetCurrentColumnNumber(parser), ": ",
                         XML_ErrorString(XML_GetErrorCode(parser)));
  }
  XML_ParserFree(parser);
  if (!ok) return absl::InvalidArgumentError(error);
  return std::move(state.root);
}

}  // namespace tontine::plot

#endif  // TONTINE_TESTS_COMMON_PLOT_XML_DOM_H_
