#include "jinja/ast.h"
#include "jinja/interp.h"

namespace llmkit::jinja {

struct Template::Impl {
  std::vector<NodePtr> body;
};

Template::Template(std::string_view source, const Limits& limits) : impl_(std::make_unique<Impl>()) {
  impl_->body = parse(tokenize(source), limits.max_depth);
}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

std::string Template::render(const Value& context, const RenderOptions& options) const {
  Interp in(options, Interp::global_scope(context));
  std::string out;
  try {
    in.run(impl_->body, out);
  } catch (const RuntimeError& e) {
    throw JinjaError(e.code, e.message);
  }
  return out;
}

}  // namespace llmkit::jinja
