// The restricted unpickler for torch.save archives, and the zip checks that
// run before PyTorch's zip reader sees a file. Every size read from the file
// is checked against the bytes that back it before anything is allocated.
#include "models/pickle_reader.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/strings.hpp"

namespace zoo::models {

// ---------------------------------------------------------------- PickleValue

const PickleValue* PickleValue::find(const std::string& key) const {
  if (kind != Kind::dict) return nullptr;
  auto it = string_keys.find(key);
  return it == string_keys.end() ? nullptr : entries[it->second].second.get();
}

std::string PickleValue::describe() const {
  switch (kind) {
    case Kind::none: return "None";
    case Kind::boolean: return "bool";
    case Kind::integer: return "int";
    case Kind::real: return "float";
    case Kind::string: return "string";
    case Kind::bytes: return "bytes";
    case Kind::list: return "list";
    case Kind::tuple: return "tuple";
    case Kind::dict: return "dict";
    case Kind::tensor: return "tensor";
    case Kind::storage: return "storage";
    case Kind::global: return "global " + text;
  }
  return "value";
}

namespace {

using Kind = PickleValue::Kind;

// ------------------------------------------------------------------ helpers

uint64_t read_le(const unsigned char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

// Checked int64 arithmetic: false on overflow.
bool checked_mul(int64_t a, int64_t b, int64_t& out) { return !__builtin_mul_overflow(a, b, &out); }
bool checked_add(int64_t a, int64_t b, int64_t& out) { return !__builtin_add_overflow(a, b, &out); }

// A string from the file, cut short and with control characters escaped, for messages.
std::string printable(std::string_view text, size_t limit = 80) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > limit) out += "...";
  return out;
}

struct StorageType {
  const char* name;
  c10::ScalarType dtype;
};

constexpr std::array<StorageType, 10> k_storage_types = {{
    {"FloatStorage", c10::ScalarType::Float},
    {"DoubleStorage", c10::ScalarType::Double},
    {"HalfStorage", c10::ScalarType::Half},
    {"BFloat16Storage", c10::ScalarType::BFloat16},
    {"LongStorage", c10::ScalarType::Long},
    {"IntStorage", c10::ScalarType::Int},
    {"ShortStorage", c10::ScalarType::Short},
    {"CharStorage", c10::ScalarType::Char},
    {"ByteStorage", c10::ScalarType::Byte},
    {"BoolStorage", c10::ScalarType::Bool},
}};

const StorageType* storage_type(const std::string& global) {
  for (const auto& type : k_storage_types) {
    if (global == std::string("torch.") + type.name) return &type;
  }
  return nullptr;
}

constexpr const char* k_ordered_dict = "collections.OrderedDict";
constexpr const char* k_rebuild_tensor = "torch._utils._rebuild_tensor_v2";
constexpr const char* k_rebuild_parameter = "torch._utils._rebuild_parameter";

// ---------------------------------------------------------------- Unpickler

class Unpickler {
 public:
  Unpickler(std::string_view data, const StorageReader& read_storage, const std::string& where)
      : m_data(data), m_read_storage(read_storage), m_where(where) {
    m_none = make(Kind::none);
    m_true = make(Kind::boolean);
    m_true->boolean = true;
    m_false = make(Kind::boolean);
  }

  PickleRef run();

 private:
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) const {
    throw Error(ErrorKind::model, "{}: {} (pickle byte {})", m_where,
                fmt::format(format, std::forward<Args>(args)...), m_op_pos);
  }

  const unsigned char* take(uint64_t n) {
    if (n > m_data.size() - m_pos) fail("truncated pickle: {} more bytes expected, {} left", n, m_data.size() - m_pos);
    const auto* p = reinterpret_cast<const unsigned char*>(m_data.data() + m_pos);
    m_pos += n;
    return p;
  }
  uint64_t read_uint(int n) { return read_le(take(n), n); }
  std::string read_text(uint64_t n) {
    const unsigned char* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  std::string read_line();

  static PickleRef make(Kind kind) {
    auto value = std::make_shared<PickleValue>();
    value->kind = kind;
    return value;
  }
  PickleRef make_integer(int64_t v) {
    auto value = make(Kind::integer);
    value->integer = v;
    return value;
  }

  void push(PickleRef value) { m_stack.push_back(std::move(value)); }
  PickleRef pop() {
    if (m_stack.size() <= (m_marks.empty() ? 0 : m_marks.back())) fail("pickle stack underflow");
    PickleRef value = std::move(m_stack.back());
    m_stack.pop_back();
    return value;
  }
  PickleValue& top() {
    if (m_stack.size() <= (m_marks.empty() ? 0 : m_marks.back())) fail("pickle stack underflow");
    return *m_stack.back();
  }
  std::vector<PickleRef> pop_to_mark() {
    if (m_marks.empty()) fail("pickle has no MARK to pop to");
    const size_t mark = m_marks.back();
    m_marks.pop_back();
    std::vector<PickleRef> items(std::make_move_iterator(m_stack.begin() + mark),
                                 std::make_move_iterator(m_stack.end()));
    m_stack.resize(mark);
    return items;
  }

  void adopt(PickleValue& container, const PickleRef& child);
  PickleValue& mutable_container(Kind kind, const char* opcode);
  void set_item(PickleValue& dict, const PickleRef& key, const PickleRef& value);
  PickleRef make_tuple(std::vector<PickleRef> items);
  PickleRef make_global(const std::string& module, const std::string& name);
  PickleRef reduce(const PickleRef& callable, const PickleRef& args);
  PickleRef persistent_load(const PickleRef& pid);
  PickleRef rebuild_tensor(const std::vector<PickleRef>& args);
  std::vector<int64_t> int_tuple(const PickleRef& value, const char* what);
  PickleRef long_integer(const unsigned char* bytes, uint64_t n);

  std::string_view m_data;
  size_t m_pos = 0;
  size_t m_op_pos = 0;
  const StorageReader& m_read_storage;
  const std::string& m_where;
  std::vector<PickleRef> m_stack;
  std::vector<size_t> m_marks;
  std::unordered_map<uint64_t, PickleRef> m_memo;
  std::unordered_map<std::string, std::pair<c10::ScalarType, at::Tensor>> m_storages;  // key -> dtype, bytes
  PickleRef m_none, m_true, m_false;
};

std::string Unpickler::read_line() {
  constexpr size_t k_max_line = 256;
  const size_t end = m_data.find('\n', m_pos);
  if (end == std::string_view::npos) fail("truncated pickle: unterminated GLOBAL name");
  if (end - m_pos > k_max_line) fail("GLOBAL name longer than {} bytes", k_max_line);
  std::string line(m_data.substr(m_pos, end - m_pos));
  m_pos = end + 1;
  return line;
}

// Puts `child` into `container`: the child may no longer change (so the
// depth recorded for every container stays true) and may not be the
// container itself (so the graph stays acyclic).
void Unpickler::adopt(PickleValue& container, const PickleRef& child) {
  if (child.get() == &container) fail("pickle puts a {} into itself", container.describe());
  child->nested = true;
  container.depth = std::max(container.depth, child->depth + 1);
  if (container.depth > k_max_pickle_depth) fail("containers nested deeper than {}", k_max_pickle_depth);
}

PickleValue& Unpickler::mutable_container(Kind kind, const char* opcode) {
  PickleValue& target = top();
  if (target.kind != kind) fail("{} applied to a {}", opcode, target.describe());
  if (target.nested) fail("{} changes a {} that is already inside another container (not supported)", opcode,
                          target.describe());
  return target;
}

void Unpickler::set_item(PickleValue& dict, const PickleRef& key, const PickleRef& value) {
  adopt(dict, key);
  adopt(dict, value);
  // Python dict semantics: a repeated key replaces the value (True and 1 are
  // the same key). The index holds views of key strings, which never change
  // and live as long as the dict.
  bool inserted = false;
  size_t index = dict.entries.size();
  if (key->kind == Kind::string) {
    auto it = dict.string_keys.emplace(std::string_view(key->text), index);
    inserted = it.second;
    index = it.first->second;
  } else if (key->kind == Kind::integer || key->kind == Kind::boolean) {
    auto it = dict.integer_keys.emplace(key->kind == Kind::boolean ? int64_t(key->boolean) : key->integer, index);
    inserted = it.second;
    index = it.first->second;
  } else {
    fail("dict key of type {} is not supported", key->describe());
  }
  if (inserted) {
    dict.entries.emplace_back(key, value);
  } else {
    dict.entries[index].second = value;
  }
}

PickleRef Unpickler::make_tuple(std::vector<PickleRef> items) {
  auto tuple = make(Kind::tuple);
  for (const auto& item : items) adopt(*tuple, item);
  tuple->items = std::move(items);
  return tuple;
}

PickleRef Unpickler::make_global(const std::string& module, const std::string& name) {
  const std::string full = module + "." + name;
  if (full != k_ordered_dict && full != k_rebuild_tensor && full != k_rebuild_parameter && !storage_type(full)) {
    fail("refusing to load pickled global '{}': a weights file may hold only tensors, dicts, lists, tuples, "
         "numbers and strings",
         printable(full));
  }
  auto global = make(Kind::global);
  global->text = full;
  return global;
}

std::vector<int64_t> Unpickler::int_tuple(const PickleRef& value, const char* what) {
  constexpr size_t k_max_dims = 64;
  if (value->kind != Kind::tuple) fail("tensor {} is a {}, expected a tuple", what, value->describe());
  if (value->items.size() > k_max_dims) fail("tensor {} has {} dimensions (at most {})", what, value->items.size(), k_max_dims);
  std::vector<int64_t> out;
  for (const auto& item : value->items) {
    if (item->kind != Kind::integer) fail("tensor {} holds a {}, which is not a size", what, item->describe());
    if (item->integer < 0) fail("tensor {} holds {}, which is not a size", what, item->integer);
    out.push_back(item->integer);
  }
  return out;
}

PickleRef Unpickler::reduce(const PickleRef& callable, const PickleRef& args) {
  if (callable->kind != Kind::global) fail("REDUCE calls a {}, which is not callable", callable->describe());
  if (args->kind != Kind::tuple) fail("REDUCE arguments are a {}, expected a tuple", args->describe());
  const std::string& name = callable->text;
  if (name == k_ordered_dict) {
    if (!args->items.empty()) fail("{} called with {} arguments (only OrderedDict() is supported)", name, args->items.size());
    return make(Kind::dict);
  }
  if (name == k_rebuild_tensor) return rebuild_tensor(args->items);
  if (name == k_rebuild_parameter) {
    if (args->items.size() != 3 || args->items[0]->kind != Kind::tensor) {
      fail("{} expects (tensor, requires_grad, hooks)", name);
    }
    auto tensor = make(Kind::tensor);
    tensor->tensor = args->items[0]->tensor;
    return tensor;
  }
  fail("'{}' cannot be called", name);
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
// backward_hooks[, metadata]): a strided view of the storage.
PickleRef Unpickler::rebuild_tensor(const std::vector<PickleRef>& args) {
  if ((args.size() != 6 && args.size() != 7) || args[0]->kind != Kind::storage || args[1]->kind != Kind::integer) {
    fail("{} expects (storage, offset, size, stride, requires_grad, hooks)", k_rebuild_tensor);
  }
  const at::Tensor& storage = args[0]->tensor;
  const int64_t storage_numel = storage.numel();
  const int64_t offset = args[1]->integer;
  const std::vector<int64_t> sizes = int_tuple(args[2], "size");
  const std::vector<int64_t> strides = int_tuple(args[3], "stride");
  if (sizes.size() != strides.size()) fail("tensor has {} sizes but {} strides", sizes.size(), strides.size());
  if (offset < 0 || offset > storage_numel) fail("tensor offset {} is outside its storage of {} elements", offset, storage_numel);
  int64_t numel = 1;
  for (const int64_t size : sizes) {
    if (!checked_mul(numel, size, numel) || numel > (int64_t(1) << 62)) {
      fail("tensor size [{}] is absurd", fmt::join(sizes, ", "));
    }
  }
  // A view may not show more elements than its storage holds: the only
  // tensors that do are expanded ones (stride 0), which state dicts do not
  // hold, and copying one could need far more memory than the file.
  if (numel > storage_numel) {
    fail("tensor of size [{}] has more elements than its storage ({})", fmt::join(sizes, ", "), storage_numel);
  }
  if (numel > 0) {
    int64_t last = offset;  // the index of the last element the view reads
    for (size_t d = 0; d < sizes.size(); ++d) {
      int64_t step = 0;
      if (!checked_mul(sizes[d] - 1, strides[d], step) || !checked_add(last, step, last)) last = storage_numel;
      if (last >= storage_numel) break;
    }
    if (last >= storage_numel) {
      fail("tensor of size [{}], stride [{}] at offset {} reads past the end of its storage of {} elements",
           fmt::join(sizes, ", "), fmt::join(strides, ", "), offset, storage_numel);
    }
  }
  auto tensor = make(Kind::tensor);
  try {
    tensor->tensor = storage.as_strided(sizes, strides, offset);
  } catch (const c10::Error& e) {
    fail("cannot build tensor of size [{}]: {}", fmt::join(sizes, ", "), e.what_without_backtrace());
  }
  return tensor;
}

// ('storage', torch.<Type>Storage, key, location, numel): the storage of
// record data/<key>, read once per key, with numel elements of the type.
PickleRef Unpickler::persistent_load(const PickleRef& pid) {
  if (pid->kind != Kind::tuple || pid->items.size() != 5 || pid->items[0]->kind != Kind::string ||
      pid->items[0]->text != "storage") {
    fail("unsupported persistent id (a {}), expected ('storage', type, key, location, numel)", pid->describe());
  }
  const auto& items = pid->items;
  const StorageType* type = items[1]->kind == Kind::global ? storage_type(items[1]->text) : nullptr;
  if (!type) fail("persistent id names a {}, expected a torch storage type", items[1]->describe());
  if (items[2]->kind != Kind::string) fail("storage key is a {}, expected a string", items[2]->describe());
  if (items[3]->kind != Kind::string) fail("storage location is a {}, expected a string", items[3]->describe());
  if (items[4]->kind != Kind::integer || items[4]->integer < 0) fail("storage size is not a count of elements");
  const std::string& key = items[2]->text;
  const int64_t numel = items[4]->integer;

  auto it = m_storages.find(key);
  if (it == m_storages.end()) {
    it = m_storages.emplace(key, std::make_pair(type->dtype, m_read_storage(key))).first;
  } else if (it->second.first != type->dtype) {
    fail("storage \"{}\" is used as both {} and {}", printable(key), c10::toString(it->second.first),
         c10::toString(type->dtype));
  }
  const at::Tensor& bytes = it->second.second;
  const int64_t elem_size = int64_t(c10::elementSize(type->dtype));
  int64_t nbytes = 0;
  if (!checked_mul(numel, elem_size, nbytes) || nbytes > bytes.numel()) {
    fail("storage \"{}\" claims {} elements of {} but its record holds only {} bytes", printable(key), numel,
         type->name, bytes.numel());
  }
  auto storage = make(Kind::storage);
  try {
    storage->tensor = at::empty({0}, at::TensorOptions().dtype(type->dtype)).set_(bytes.storage(), 0, {numel}, {1});
  } catch (const c10::Error& e) {
    fail("cannot use storage \"{}\": {}", printable(key), e.what_without_backtrace());
  }
  return storage;
}

PickleRef Unpickler::long_integer(const unsigned char* bytes, uint64_t n) {
  if (n <= 8) {
    uint64_t v = read_le(bytes, int(n));
    if (n > 0 && n < 8 && (bytes[n - 1] & 0x80)) v |= ~uint64_t(0) << (8 * n);  // sign-extend
    return make_integer(static_cast<int64_t>(v));
  }
  // Beyond int64 (an optimizer counter, say): kept as an approximate float.
  double v = 0;
  for (uint64_t i = n; i-- > 0;) v = v * 256.0 + bytes[i];
  if (bytes[n - 1] & 0x80) v -= std::ldexp(1.0, int(std::min<uint64_t>(8 * n, 4096)));
  auto value = make(Kind::real);
  value->real = v;
  return value;
}

PickleRef Unpickler::run() {
  while (m_pos < m_data.size()) {
    m_op_pos = m_pos;
    const unsigned char op = *take(1);
    switch (op) {
      case 0x80: {  // PROTO
        const unsigned version = *take(1);
        if (version < 2 || version > 5) fail("unsupported pickle protocol {}", version);
        break;
      }
      case 0x95:  // FRAME: a length hint only
        take(8);
        break;
      case '.':  // STOP
        if (m_stack.empty()) fail("pickle ends with an empty stack");
        return m_stack.back();
      case '(':  // MARK
        m_marks.push_back(m_stack.size());
        break;
      case '}': push(make(Kind::dict)); break;   // EMPTY_DICT
      case ']': push(make(Kind::list)); break;   // EMPTY_LIST
      case ')': push(make(Kind::tuple)); break;  // EMPTY_TUPLE
      case 'N': push(m_none); break;             // NONE
      case 0x88: push(m_true); break;            // NEWTRUE
      case 0x89: push(m_false); break;           // NEWFALSE
      case 'K': push(make_integer(*take(1))); break;                                     // BININT1
      case 'M': push(make_integer(int64_t(read_uint(2)))); break;                        // BININT2
      case 'J': push(make_integer(static_cast<int32_t>(uint32_t(read_uint(4))))); break;  // BININT
      case 0x8a: {  // LONG1
        const uint64_t n = *take(1);
        push(long_integer(take(n), n));
        break;
      }
      case 0x8b: {  // LONG4
        const uint64_t n = read_uint(4);
        if (n > 0x7fffffff) fail("negative LONG4 length");
        push(long_integer(take(n), n));
        break;
      }
      case 'G': {  // BINFLOAT, big-endian
        const unsigned char* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
        auto value = make(Kind::real);
        value->real = std::bit_cast<double>(bits);
        push(value);
        break;
      }
      case 'X':     // BINUNICODE
      case 0x8c:    // SHORT_BINUNICODE
      case 0x8d: {  // BINUNICODE8
        const uint64_t n = op == 'X' ? read_uint(4) : op == 0x8c ? *take(1) : read_uint(8);
        auto value = make(Kind::string);
        value->text = read_text(n);
        push(value);
        break;
      }
      case 'B':     // BINBYTES
      case 'C':     // SHORT_BINBYTES
      case 0x8e: {  // BINBYTES8
        const uint64_t n = op == 'B' ? read_uint(4) : op == 'C' ? *take(1) : read_uint(8);
        auto value = make(Kind::bytes);
        value->text = read_text(n);
        push(value);
        break;
      }
      case 't': push(make_tuple(pop_to_mark())); break;  // TUPLE
      case 0x85:                                          // TUPLE1
      case 0x86:                                          // TUPLE2
      case 0x87: {                                        // TUPLE3
        const size_t n = op - 0x84;
        std::vector<PickleRef> items(n);
        for (size_t i = n; i-- > 0;) items[i] = pop();
        push(make_tuple(std::move(items)));
        break;
      }
      case 'q':     // BINPUT
      case 'r':     // LONG_BINPUT
      case 0x94: {  // MEMOIZE
        const uint64_t index = op == 'q' ? *take(1) : op == 'r' ? read_uint(4) : m_memo.size();
        top();  // fails on an empty stack
        m_memo[index] = m_stack.back();
        break;
      }
      case 'h':    // BINGET
      case 'j': {  // LONG_BINGET
        const uint64_t index = op == 'h' ? *take(1) : read_uint(4);
        auto it = m_memo.find(index);
        if (it == m_memo.end()) fail("memo entry {} read before it was stored", index);
        push(it->second);
        break;
      }
      case 's': {  // SETITEM
        PickleRef value = pop();
        PickleRef key = pop();
        set_item(mutable_container(Kind::dict, "SETITEM"), key, value);
        break;
      }
      case 'u': {  // SETITEMS
        std::vector<PickleRef> items = pop_to_mark();
        if (items.size() % 2 != 0) fail("SETITEMS with an odd number of items");
        PickleValue& dict = mutable_container(Kind::dict, "SETITEMS");
        for (size_t i = 0; i < items.size(); i += 2) set_item(dict, items[i], items[i + 1]);
        break;
      }
      case 'a': {  // APPEND
        PickleRef value = pop();
        PickleValue& list = mutable_container(Kind::list, "APPEND");
        adopt(list, value);
        list.items.push_back(std::move(value));
        break;
      }
      case 'e': {  // APPENDS
        std::vector<PickleRef> items = pop_to_mark();
        PickleValue& list = mutable_container(Kind::list, "APPENDS");
        for (auto& item : items) {
          adopt(list, item);
          list.items.push_back(std::move(item));
        }
        break;
      }
      case 'c': {  // GLOBAL
        const std::string module = read_line();
        const std::string name = read_line();
        push(make_global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        PickleRef name = pop();
        PickleRef module = pop();
        if (module->kind != Kind::string || name->kind != Kind::string) fail("STACK_GLOBAL needs two strings");
        push(make_global(module->text, name->text));
        break;
      }
      case 'R': {  // REDUCE
        PickleRef args = pop();
        PickleRef callable = pop();
        push(reduce(callable, args));
        break;
      }
      case 'Q': {  // BINPERSID
        PickleRef pid = pop();
        push(persistent_load(pid));
        break;
      }
      case 'b': {  // BUILD: OrderedDict state (attributes such as _metadata) is not needed
        pop();
        if (top().kind != Kind::dict) fail("BUILD applied to a {}", top().describe());
        break;
      }
      default:
        fail("unsupported pickle opcode 0x{:02x}{}", op,
             op >= 0x20 && op < 0x7f ? fmt::format(" ('{}')", char(op)) : std::string());
    }
  }
  fail("truncated pickle: no STOP opcode");
}

// ---------------------------------------------------------------- zip checks

// Checks the central directory of the zip at `path` the way miniz (inside
// PyTorchStreamReader) will read it, before miniz allocates a buffer of
// whatever size an entry claims: every entry must lie inside the file, a
// stored entry must be as large as it claims, a deflated one at most 1032x
// (deflate's limit) its compressed size.
// Reads bytes of a file by offset, for the zip checks.
class ZipFile {
 public:
  explicit ZipFile(const std::string& path) : m_path(path), m_in(path, std::ios::binary | std::ios::ate) {
    if (!m_in) throw Error(ErrorKind::model, "{}: cannot open weights file", path);
    m_size = static_cast<uint64_t>(m_in.tellg());
  }
  uint64_t size() const { return m_size; }
  std::vector<unsigned char> read_at(uint64_t offset, uint64_t n) {
    std::vector<unsigned char> buffer(n);
    m_in.seekg(static_cast<std::streamoff>(offset));
    m_in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(n));
    if (!m_in) throw Error(ErrorKind::model, "{}: cannot read {} bytes at offset {}", m_path, n, offset);
    return buffer;
  }
  Error corrupt(const std::string& what) const {
    return Error(ErrorKind::model, "{}: truncated or corrupt zip archive: {}", m_path, what);
  }

 private:
  std::string m_path;
  std::ifstream m_in;
  uint64_t m_size = 0;
};

constexpr uint64_t k_eocd_size = 22, k_locator_size = 20, k_eocd64_size = 56, k_entry_size = 46;

// Where the central directory is, and how many entries it holds.
struct CentralDirectory {
  uint64_t entries = 0;
  uint64_t size = 0;
  uint64_t offset = 0;
};

// Finds the end-of-central-directory record (and its zip64 twin) and
// checks that the directory it points to lies inside the file.
CentralDirectory find_central_directory(ZipFile& zip) {
  const uint64_t file_size = zip.size();
  if (file_size < k_eocd_size) throw zip.corrupt(fmt::format("only {} bytes", file_size));
  // The end-of-central-directory record: the last signature with room for
  // the record after it, within the last 64 KiB (its comment can be that long).
  const uint64_t tail_size = std::min<uint64_t>(file_size, 0xffff + k_eocd_size);
  const auto tail = zip.read_at(file_size - tail_size, tail_size);
  int64_t found = -1;
  for (int64_t i = int64_t(tail_size - k_eocd_size); i >= 0; --i) {
    if (read_le(&tail[i], 4) == 0x06054b50) {
      found = i;
      break;
    }
  }
  if (found < 0) throw zip.corrupt("no end-of-central-directory record");
  const uint64_t eocd = file_size - tail_size + uint64_t(found);
  const unsigned char* e = &tail[found];
  CentralDirectory cd{read_le(e + 10, 2), read_le(e + 12, 4), read_le(e + 16, 4)};
  if (eocd >= k_locator_size + k_eocd64_size) {
    const auto locator = zip.read_at(eocd - k_locator_size, k_locator_size);
    if (read_le(locator.data(), 4) == 0x07064b50) {
      const uint64_t offset = read_le(locator.data() + 8, 8);
      if (offset > file_size - k_eocd64_size) throw zip.corrupt("zip64 directory record past the end of the file");
      const auto record = zip.read_at(offset, k_eocd64_size);
      if (read_le(record.data(), 4) == 0x06064b50) {
        cd = {read_le(record.data() + 32, 8), read_le(record.data() + 40, 8), read_le(record.data() + 48, 8)};
      }
    }
  }
  if (cd.offset > file_size || cd.size > file_size - cd.offset) {
    throw zip.corrupt(fmt::format("central directory ({} bytes at offset {}) past the end of the file ({} bytes)",
                                  cd.size, cd.offset, file_size));
  }
  if (cd.entries > cd.size / k_entry_size) {
    throw zip.corrupt(fmt::format("{} entries do not fit in the central directory", cd.entries));
  }
  return cd;
}

// Zip64: the sizes and offset saturated at 0xffffffff are in extra field
// 0x0001, in this order.
void read_zip64_extra(const ZipFile& zip, const unsigned char* extra, uint64_t extra_size, const std::string& name,
                      uint64_t& uncompressed, uint64_t& compressed, uint64_t& local) {
  constexpr uint64_t k_max32 = 0xffffffff;
  if (uncompressed != k_max32 && compressed != k_max32 && local != k_max32) return;
  for (uint64_t x = 0; x + 4 <= extra_size;) {
    const uint64_t id = read_le(extra + x, 2), size = read_le(extra + x + 2, 2);
    if (size > extra_size - x - 4) break;
    if (id == 1) {
      const unsigned char* field = extra + x + 4;
      uint64_t left = size;
      for (uint64_t* value : {&uncompressed, &compressed, &local}) {
        if (*value != k_max32) continue;
        if (left < 8) throw zip.corrupt(fmt::format("entry \"{}\": short zip64 field", printable(name)));
        *value = read_le(field, 8);
        field += 8;
        left -= 8;
      }
      break;
    }
    x += 4 + size;
  }
}

// Checks central directory entry `n` at `pos` and returns its name;
// `pos` moves past it.
std::string check_zip_entry(const ZipFile& zip, const std::vector<unsigned char>& cd, uint64_t n, uint64_t& pos) {
  const uint64_t file_size = zip.size();
  if (cd.size() - pos < k_entry_size || read_le(&cd[pos], 4) != 0x02014b50) {
    throw zip.corrupt(fmt::format("bad central directory entry {}", n));
  }
  const unsigned char* h = &cd[pos];
  const uint64_t method = read_le(h + 10, 2);
  uint64_t compressed = read_le(h + 20, 4), uncompressed = read_le(h + 24, 4), local = read_le(h + 42, 4);
  const uint64_t name_size = read_le(h + 28, 2), extra_size = read_le(h + 30, 2), comment_size = read_le(h + 32, 2);
  if (cd.size() - pos - k_entry_size < name_size + extra_size + comment_size) {
    throw zip.corrupt(fmt::format("central directory entry {} overruns the directory", n));
  }
  const std::string name(reinterpret_cast<const char*>(h + k_entry_size), name_size);
  read_zip64_extra(zip, h + k_entry_size + name_size, extra_size, name, uncompressed, compressed, local);
  if (local > file_size || compressed > file_size - local) {
    throw zip.corrupt(fmt::format("entry \"{}\" claims {} bytes at offset {}, past the end of the file ({} bytes)",
                                  printable(name), compressed, local, file_size));
  }
  if (method == 0 && uncompressed != compressed) {
    throw zip.corrupt(fmt::format("stored entry \"{}\" claims {} bytes but holds {}", printable(name), uncompressed,
                                  compressed));
  }
  if (method == 8 && uncompressed > compressed * 1032 + 1024) {
    throw zip.corrupt(fmt::format("entry \"{}\" claims {} bytes from {} compressed bytes", printable(name),
                                  uncompressed, compressed));
  }
  if (method != 0 && method != 8) {
    throw zip.corrupt(fmt::format("entry \"{}\" uses unsupported compression method {}", printable(name), method));
  }
  pos += k_entry_size + name_size + extra_size + comment_size;
  return name;
}

void check_zip_entries(const std::string& path) {
  ZipFile zip(path);
  const CentralDirectory directory = find_central_directory(zip);
  const auto cd = zip.read_at(directory.offset, directory.size);
  std::vector<std::string> names;
  uint64_t pos = 0;
  for (uint64_t n = 0; n < directory.entries; ++n) names.push_back(check_zip_entry(zip, cd, n, pos));
  // What PyTorchStreamReader's constructor requires (it leaks its zip state
  // when it throws, so these are checked here): records in one folder, and
  // a version record.
  if (names.empty()) throw zip.corrupt("no entries");
  const std::string folder = names[0].substr(0, names[0].find('/'));
  if (folder == names[0]) throw zip.corrupt(fmt::format("entry \"{}\" is not in a folder", printable(names[0])));
  if (std::find(names.begin(), names.end(), folder + "/version") == names.end() &&
      std::find(names.begin(), names.end(), folder + "/.data/version") == names.end()) {
    throw Error(ErrorKind::model, "{}: not a PyTorch archive: no version record", path);
  }
}

// A c10::Error's message without the C++ stack trace LibTorch appends.
std::string torch_message(const c10::Error& e) {
  std::string message = e.what_without_backtrace();
  const size_t end = message.find("\nException raised from");
  if (end != std::string::npos) message.resize(end);
  return message;
}

}  // namespace

PickleRef unpickle(std::string_view data, const StorageReader& read_storage, const std::string& where) {
  return Unpickler(data, read_storage, where).run();
}

std::unique_ptr<caffe2::serialize::PyTorchStreamReader> open_pytorch_zip(const std::string& path) {
  check_zip_entries(path);
  try {
    return std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::model, "{}: not a readable PyTorch zip archive: {}", path, torch_message(e));
  } catch (const std::exception& e) {
    // e.g. std::invalid_argument from a version record that is not a number.
    throw Error(ErrorKind::model, "{}: not a readable PyTorch zip archive: {}", path, e.what());
  }
}

bool is_legacy_torch_save(const std::string& path) {
  // PROTO 2, LONG1 of 10 bytes: torch.serialization's MAGIC_NUMBER 0x1950a86a20f9469cfc6c.
  static constexpr unsigned char k_magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                              0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
  std::ifstream in(path, std::ios::binary);
  unsigned char head[sizeof(k_magic)] = {};
  in.read(reinterpret_cast<char*>(head), sizeof(head));
  return in && std::memcmp(head, k_magic, sizeof(k_magic)) == 0;
}

PickleRef read_torch_save(const std::string& path) {
  auto reader = open_pytorch_zip(path);
  try {
    if (!reader->hasRecord("data.pkl")) {
      throw Error(ErrorKind::model, "{}: not a torch.save archive: no data.pkl (records: {})", path,
                  util::join(reader->getAllRecords(), ", "));
    }
    auto [pickle, pickle_size] = reader->getRecord("data.pkl");
    const StorageReader read_storage = [&](const std::string& key) {
      const std::string record = "data/" + key;
      if (!reader->hasRecord(record)) {
        throw Error(ErrorKind::model, "{}: data.pkl refers to tensor storage \"{}\" but the archive has no record {}",
                    path, printable(key), printable(record));
      }
      auto [bytes, size] = reader->getRecord(record);
      c10::Storage storage(c10::Storage::use_byte_size_t(), size, std::move(bytes), nullptr, false);
      return at::empty({0}, at::TensorOptions().dtype(at::kByte)).set_(storage, 0, {int64_t(size)}, {1});
    };
    return unpickle(std::string_view(static_cast<const char*>(pickle.get()), pickle_size), read_storage,
                    path + ": data.pkl");
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::model, "{}: cannot read torch.save archive: {}", path, torch_message(e));
  } catch (const std::exception& e) {
    throw Error(ErrorKind::model, "{}: cannot read torch.save archive: {}", path, e.what());
  }
}

}  // namespace zoo::models
