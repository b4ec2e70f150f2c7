// Layer capture by graph surgery (see capture.hpp).
#include "models/capture.hpp"

#include <algorithm>
#include <optional>
#include <unordered_set>

#include <fmt/format.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>

#include "util/error.hpp"
#include "util/log.hpp"
#include "util/strings.hpp"

namespace zoo::models {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Module;
using torch::jit::Node;
using torch::jit::Value;

// What one submodule's forward() received and returned (its last call).
struct Call {
  Value* input = nullptr;   // first argument after self
  Value* output = nullptr;  // nullptr if the call had several outputs
  int count = 0;
};

struct InlinedForward {
  std::shared_ptr<Graph> graph;
  std::map<std::string, Call> calls;  // by submodule path
};

void collect_nodes(Block* block, std::vector<Node*>& out) {
  for (Node* node : block->nodes()) {
    out.push_back(node);
    for (Block* inner : node->blocks()) collect_nodes(inner, out);
  }
}

// The submodule path of a module-typed value: "" for `self`, "a.b" for
// GetAttr chains starting at `self`; nullopt for anything else (e.g. a
// module picked from a ModuleList by a runtime index).
std::optional<std::string> module_path(Value* value, Value* self) {
  std::vector<std::string> names;
  while (value != self) {
    auto type = value->type()->cast<c10::ClassType>();
    Node* node = value->node();
    if (!type || !type->is_module() || node->kind() != c10::prim::GetAttr) return std::nullopt;
    names.push_back(node->s(c10::attr::name));
    value = node->input(0);
  }
  std::reverse(names.begin(), names.end());
  return util::join(names, ".");
}

// A copy of `module`'s forward graph with every method call on a module
// reachable from self through attributes inlined, one call at a time,
// recording each submodule's forward() input and output. Calls are
// inlined in graph order, so the callee's own calls are found next.
InlinedForward inline_forward(const Module& module) {
  auto& forward = torch::jit::toGraphFunction(module.get_method("forward").function());
  InlinedForward result;
  result.graph = forward.graph()->copy();
  Graph& graph = *result.graph;
  Value* self = graph.inputs().at(0);
  std::unordered_set<Node*> opaque;  // calls of methods without a graph (left as they are)
  std::vector<Node*> nodes;
  for (;;) {
    nodes.clear();
    collect_nodes(graph.block(), nodes);
    Node* call = nullptr;
    std::string path;
    for (Node* node : nodes) {
      if (node->kind() != c10::prim::CallMethod || opaque.count(node)) continue;
      if (auto found = module_path(node->input(0), self)) {
        call = node;
        path = *found;
        break;
      }
    }
    if (!call) break;
    const std::string method = call->s(c10::attr::name);
    auto type = call->input(0)->type()->expect<c10::ClassType>();
    torch::jit::Function* function = type->findMethod(method);
    torch::jit::GraphFunction* callee = function ? torch::jit::tryToGraphFunction(*function) : nullptr;
    if (!callee) {
      opaque.insert(call);
      continue;
    }
    Value* input = call->inputs().size() > 1 ? call->input(1) : nullptr;
    const std::vector<Value*> before(call->outputs().begin(), call->outputs().end());
    const std::vector<Value*> after = torch::jit::inlineCallTo(call, callee, callee->graph().get());
    // Values recorded earlier may have been this call's outputs (a
    // Sequential returns its last child's output): follow them.
    for (auto& [name, recorded] : result.calls) {
      for (size_t i = 0; i < before.size() && i < after.size(); ++i) {
        if (recorded.input == before[i]) recorded.input = after[i];
        if (recorded.output == before[i]) recorded.output = after[i];
      }
    }
    // A forward hook fires for calls of a submodule's forward(); calls of
    // the root's own helper methods (ResNet._forward_impl) are not layers.
    if (method == "forward" && !path.empty()) {
      Call& recorded = result.calls[path];
      recorded.input = input;
      recorded.output = after.size() == 1 ? after[0] : nullptr;
      ++recorded.count;
    }
  }
  return result;
}

// True if `value` is computed in the graph's top block (not inside an if
// or a loop), so the graph can return it.
bool in_top_block(Value* value, Graph& graph) {
  if (!value) return false;
  Node* node = value->node();
  return node == graph.block()->param_node() || node->owningBlock() == graph.block();
}

// Makes `graph` return `values` (one value as itself, several as a
// tuple), inlines the calls left and drops what the new outputs do not
// need.
void return_values(const std::shared_ptr<Graph>& graph, const std::vector<Value*>& values, bool as_tuple) {
  while (!graph->outputs().empty()) graph->eraseOutput(graph->outputs().size() - 1);
  if (as_tuple) {
    Node* tuple = graph->createTuple(values);
    graph->appendNode(tuple);
    graph->registerOutput(tuple->output());
  } else {
    graph->registerOutput(values.at(0));
  }
  torch::jit::Inline(*graph);
  torch::jit::EliminateDeadCode(graph);
}

// Replaces the forward() method of `module`'s own class type (a clone's)
// with `graph`.
void replace_forward(Module& module, const std::shared_ptr<Graph>& graph) {
  auto type = module.type();
  auto unit = module._ivalue()->compilation_unit();
  torch::jit::Function* function =
      unit->create_function(c10::QualifiedName(*type->name(), "forward"), graph, /*shouldMangle=*/true);
  type->unsafeRemoveMethod("forward");
  type->addMethod(function);
}

}  // namespace

LayerRef parse_layer(const std::string& text, const std::string& where) {
  LayerRef ref;
  ref.input = !text.empty() && text[0] == '<';
  ref.path = ref.input ? text.substr(1) : text;
  if (ref.path.empty()) {
    throw Error(ErrorKind::config, "{}: empty layer name \"{}\": expected NAME (its output) or <NAME (its input)",
                where, text);
  }
  return ref;
}

std::vector<std::string> submodule_names(const Module& module) {
  std::vector<std::string> names;
  for (const auto& sub : module.named_modules()) {
    if (!sub.name.empty()) names.push_back(sub.name);
  }
  return names;
}

std::string module_kind(const Module& module) {
  const auto name = module.type()->name();
  if (!name) return "Module";
  std::string kind;
  for (const auto& atom : name->atoms()) {
    if (atom.rfind("___torch_mangle", 0) != 0) kind = atom;
  }
  // Built-ins are named "__torch__.zoo.<Kind>_<counter>".
  const auto& atoms = name->atoms();
  if (atoms.size() >= 3 && atoms[0] == "__torch__" && atoms[1] == "zoo") {
    const size_t end = kind.rfind('_');
    if (end != std::string::npos && end > 0 && kind.find_first_not_of("0123456789", end + 1) == std::string::npos) {
      kind = kind.substr(0, end);
    }
  }
  return kind;
}

Module capture_layer(const Module& module, const std::string& layer, const std::string& where) {
  const LayerRef ref = parse_layer(layer, where);
  const std::vector<std::string> names = submodule_names(module);
  if (std::find(names.begin(), names.end(), ref.path) == names.end()) {
    const std::string suggestion = util::did_you_mean(ref.path, names);
    throw Error(ErrorKind::config, "{}: unknown layer \"{}\"{} The model's layers: {}", where, ref.path,
                suggestion.empty() ? "." : suggestion, names.empty() ? "(none)" : util::join(names, ", "));
  }
  Module copy = module.clone();
  InlinedForward inlined = inline_forward(copy);
  const auto found = inlined.calls.find(ref.path);
  if (found == inlined.calls.end()) {
    throw Error(ErrorKind::model, "{}: layer \"{}\" is never called by the model's forward(), so it has no {}", where,
                ref.path, ref.input ? "input" : "output");
  }
  const Call& call = found->second;
  const char* what = ref.input ? "input" : "output";
  Value* value = ref.input ? call.input : call.output;
  if (!value) {
    throw Error(ErrorKind::model, "{}: layer \"{}\" has no single {} to capture", where, ref.path, what);
  }
  if (!in_top_block(value, *inlined.graph)) {
    throw Error(ErrorKind::model,
                "{}: layer \"{}\" is called inside control flow (an if or a loop) in forward(); its {} cannot be "
                "captured",
                where, ref.path, what);
  }
  if (!value->type()->isSubtypeOf(*c10::TensorType::get())) {
    throw Error(ErrorKind::model, "{}: the {} of layer \"{}\" is a {}, not a tensor", where, what, ref.path,
                value->type()->repr_str());
  }
  if (call.count > 1) {
    util::warn(fmt::format("{}: layer \"{}\" is called {} times by forward(); using its last call, as a forward "
                           "hook would",
                           where, ref.path, call.count));
  }
  return_values(inlined.graph, {value}, false);
  replace_forward(copy, inlined.graph);
  return copy;
}

std::map<std::string, CallShapes> trace_calls(const Module& module, const at::Tensor& input) {
  Module copy = module.clone();
  InlinedForward inlined = inline_forward(copy);
  std::map<std::string, CallShapes> shapes;
  std::vector<Value*> values;
  std::vector<c10::IValue*> slots;
  for (auto& [path, call] : inlined.calls) {
    CallShapes& entry = shapes[path];
    entry.path = path;
    if (in_top_block(call.input, *inlined.graph)) {
      values.push_back(call.input);
      slots.push_back(&entry.input);
    }
    if (in_top_block(call.output, *inlined.graph)) {
      values.push_back(call.output);
      slots.push_back(&entry.output);
    } else {
      entry.note = call.output ? "called inside control flow: not captured" : "several outputs: not captured";
    }
  }
  if (values.empty()) return shapes;
  return_values(inlined.graph, values, true);
  replace_forward(copy, inlined.graph);
  c10::IValue result;
  {
    c10::InferenceMode guard;
    result = copy.forward({input});
  }
  const auto& elements = result.toTupleRef().elements();
  for (size_t i = 0; i < slots.size() && i < elements.size(); ++i) *slots[i] = elements[i];
  return shapes;
}

}  // namespace zoo::models
