// Tests of the weight-file readers (lib/models/weights.cpp and
// pickle_reader.cpp) on the files under tests/fixtures/weights/ (written by
// PyTorch, see make_weight_fixtures.py), on hand-made hostile pickles,
// zips and safetensors headers, and on thousands of random mutations of
// the fixtures: every read returns tensors or throws zoo::Error.
#include <caffe2/serialize/inline_container.h>

#include "models/builtin.hpp"
#include "doctest_after_torch.hpp"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "test_support.hpp"

using zoo::models::read_state_dict;
using zoo::models::StateDict;
using zoo::test::catch_error;
using zoo::test::contains;
using zoo::test::read_text;
using zoo::test::TempDir;
using zoo::test::write_file;
using namespace std::string_literals;

namespace {

const std::string k_fixtures = std::string(ZOO_SOURCE_DIR) + "/tests/fixtures/weights/";

std::map<std::string, at::Tensor> by_name(const StateDict& dict) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, tensor] : dict.entries) out[name] = tensor;
  return out;
}

std::string shape(const at::Tensor& t) { return c10::str(t.sizes()); }

// The records of a zip archive written by PyTorch, without the version
// record (PyTorchStreamWriter adds its own).
std::vector<std::pair<std::string, std::string>> zip_records(const std::string& path) {
  caffe2::serialize::PyTorchStreamReader reader(path);
  std::vector<std::pair<std::string, std::string>> records;
  for (const auto& name : reader.getAllRecords()) {
    if (name == "version" || name == ".data/version") continue;
    auto [data, size] = reader.getRecord(name);
    records.emplace_back(name, std::string(static_cast<const char*>(data.get()), size));
  }
  return records;
}

// Writes a zip archive the way torch.save does: records under a folder
// named after the file, stored, with a version record.
void write_torch_zip(const std::filesystem::path& path, const std::vector<std::pair<std::string, std::string>>& records) {
  caffe2::serialize::PyTorchStreamWriter writer(path.string());
  for (const auto& [name, data] : records) writer.writeRecord(name, data.data(), data.size());
  writer.writeEndOfFile();
}

// Builds protocol-2 pickles by hand, the way torch.save writes them.
class Pickle {
 public:
  Pickle() { m_bytes = {'\x80', '\x02'}; }
  Pickle& op(char c) {
    m_bytes += c;
    return *this;
  }
  Pickle& raw(const std::string& bytes) {
    m_bytes += bytes;
    return *this;
  }
  Pickle& str(const std::string& s) {
    op('X');
    append_le(s.size(), 4);
    m_bytes += s;
    return *this;
  }
  Pickle& integer(int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      op('J');
      append_le(uint64_t(v), 4);
    } else {
      op('\x8a');
      op('\x08');
      append_le(uint64_t(v), 8);
    }
    return *this;
  }
  Pickle& global(const std::string& module, const std::string& name) {
    op('c');
    m_bytes += module + "\n" + name + "\n";
    return *this;
  }
  Pickle& ints(const std::vector<int64_t>& values) {
    op('(');
    for (int64_t v : values) integer(v);
    return op('t');
  }
  // torch._utils._rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, sizes, strides, False, {})
  Pickle& tensor(const std::string& type, const std::string& key, int64_t numel, int64_t offset,
                 const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) {
    global("torch._utils", "_rebuild_tensor_v2").op('(');
    op('(').str("storage").global("torch", type).str(key).str("cpu").integer(numel).op('t').op('Q');
    integer(offset).ints(sizes).ints(strides).op('\x89').op('}').op('t');
    return op('R');
  }
  std::string done() const { return m_bytes + "."; }
  std::string bytes() const { return m_bytes; }

 private:
  void append_le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) m_bytes += char((v >> (8 * i)) & 0xff);
  }
  std::string m_bytes;
};

std::string floats(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

// A torch.save-like archive holding `pickle` as data.pkl and `storages` as data/<key>.
std::string torch_zip(const TempDir& dir, const std::string& name, const std::string& pickle,
                      const std::vector<std::pair<std::string, std::string>>& storages = {}) {
  std::vector<std::pair<std::string, std::string>> records = {{"data.pkl", pickle}};
  for (const auto& [key, data] : storages) records.emplace_back("data/" + key, data);
  const auto path = dir / (name + ".pth");
  write_torch_zip(path, records);
  return path.string();
}

// True if `message` contains `part`; prints both when it does not.
bool says(const std::string& message, const std::string& part) {
  if (contains(message, part)) return true;
  MESSAGE("message: ", message, "\n  lacks: ", part);
  return false;
}

// The message read_state_dict throws for `path`, failing the test if it
// returns or throws anything but a zoo::Error.
std::string error_of(const std::string& path, const std::string& weights_key = "") {
  const auto caught = catch_error([&] { read_state_dict(path, weights_key); });
  INFO(path, ": ", caught.foreign);
  CHECK(caught.thrown);
  CHECK(caught.kind == zoo::ErrorKind::model);
  return caught.message;
}

std::string safetensors(const std::string& header, const std::string& data) {
  std::string padded = header + std::string((8 - header.size() % 8) % 8, ' ');
  std::string out;
  for (int i = 0; i < 8; ++i) out += char((uint64_t(padded.size()) >> (8 * i)) & 0xff);
  return out + padded + data;
}

}  // namespace

TEST_SUITE("models::read_state_dict") {
  TEST_CASE("a torch.save'd OrderedDict gives every dtype, view, offset and shared storage as PyTorch saved them") {
    const StateDict dict = read_state_dict(k_fixtures + "state_dict.pth", "");
    CHECK(dict.format == "state dict");
    std::vector<std::string> names;
    for (const auto& [name, _] : dict.entries) names.push_back(name);
    const std::vector<std::string> expected = {"conv.weight", "conv.bias", "double.t", "double.row", "half",
                                               "bfloat16",    "long",      "int",      "short",      "char",
                                               "byte",        "bool",      "scalar",   "empty"};
    CHECK(names == expected);
    auto t = by_name(dict);
    INFO("conv.weight ", shape(t["conv.weight"]));
    CHECK((t["conv.weight"].sizes().vec() == std::vector<int64_t>{2, 3, 2, 2}));
    CHECK(torch::equal(t["conv.weight"], torch::arange(24, torch::kFloat32).reshape({2, 3, 2, 2}) / 8 - 1));
    CHECK(torch::equal(t["conv.bias"], torch::tensor({0.5f, -1.25f})));
    const auto base = torch::arange(12, torch::kFloat64).reshape({3, 4});
    CHECK((t["double.t"].strides().vec() == std::vector<int64_t>{1, 4}));
    CHECK(torch::equal(t["double.t"], base.t()));
    CHECK(t["double.row"].storage_offset() == 4);
    CHECK(t["double.row"].storage().is_alias_of(t["double.t"].storage()));
    CHECK(torch::equal(t["double.row"], base[1]));
    CHECK(torch::equal(t["half"], torch::tensor({1.5, -2.0, 65504.0}).to(torch::kFloat16)));
    CHECK(torch::equal(t["bfloat16"], torch::tensor({1.0, -3.5}).to(torch::kBFloat16)));
    CHECK(torch::equal(t["long"], torch::tensor({-(int64_t(1) << 40), int64_t(7)})));
    CHECK(torch::equal(t["int"], torch::tensor({-5, 6}, torch::kInt32)));
    CHECK(torch::equal(t["short"], torch::tensor({-300, 300}).to(torch::kInt16)));
    CHECK(torch::equal(t["char"], torch::tensor({-7, 8}).to(torch::kInt8)));
    CHECK(torch::equal(t["byte"], torch::tensor({0, 255}).to(torch::kUInt8)));
    CHECK(torch::equal(t["bool"], torch::tensor({true, false, true})));
    CHECK(t["scalar"].dim() == 0);
    CHECK(t["scalar"].item<float>() == 2.5f);
    CHECK((t["empty"].sizes().vec() == std::vector<int64_t>{0, 3}));
  }

  TEST_CASE("a safetensors file gives the same tensors") {
    const StateDict dict = read_state_dict(k_fixtures + "state_dict.safetensors", "");
    CHECK(dict.format == "safetensors");
    auto st = by_name(dict);
    auto pth = by_name(read_state_dict(k_fixtures + "state_dict.pth", ""));
    CHECK(st.size() == pth.size());
    for (const auto& [name, tensor] : pth) {
      INFO(name, ": safetensors ", st.count(name) ? shape(st[name]) : "missing", ", torch.save ", shape(tensor));
      REQUIRE(st.count(name));
      CHECK(st[name].dtype() == tensor.dtype());
      CHECK(torch::equal(st[name], tensor));
    }
  }

  TEST_CASE("a checkpoint gives its state_dict entry without DataParallel prefixes, or the weights_key entry") {
    const std::string path = k_fixtures + "checkpoint.pth";
    const StateDict dict = read_state_dict(path, "");
    CHECK(dict.format == "checkpoint[\"state_dict\"]");
    auto t = by_name(dict);
    REQUIRE(t.size() == 2);
    CHECK(torch::equal(t["fc.weight"], torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({2, 2})));
    CHECK(torch::equal(t["fc.bias"], torch::tensor({-1.0f, 1.0f})));

    CHECK(says(error_of(path, "nope"),
                   "checkpoint.pth: weights_key \"nope\" is not in this file (entries: epoch, state_dict, optimizer, "
                   "best_acc1, steps, arch)"));
    CHECK(says(error_of(path, "arch"), "weights_key \"arch\" holds a string, expected a dict of tensors"));
    CHECK(says(error_of(path, "optimizer"),
                   "no tensors found in checkpoint[\"optimizer\"] (entries: state, param_groups)"));
    CHECK(says(error_of(k_fixtures + "state_dict.safetensors", "state_dict"),
                   "weights_key \"state_dict\" applies to torch.save checkpoints, but this is a safetensors file"));
  }

  TEST_CASE("a pickled os.system call is refused by name") {
    CHECK(says(error_of(k_fixtures + "evil_os.pth"),
                   "evil_os.pth: data.pkl: refusing to load pickled global 'os.system'"));
  }

  TEST_CASE("the legacy torch.save format, a folder and a missing file are errors naming the file") {
    CHECK(says(error_of(k_fixtures + "legacy.pth"), "legacy.pth: legacy torch.save format"));
    TempDir dir("weights");
    std::filesystem::create_directories(dir / "folder.pth");
    CHECK(says(error_of((dir / "folder.pth").string()), "folder.pth: weights file is a directory"));
    CHECK(says(error_of((dir / "missing.pth").string()), "missing.pth: cannot open weights file"));
    write_file(dir / "text.pth", "hello, this is not a weights file");
    CHECK(says(error_of((dir / "text.pth").string()), "text.pth: unknown weights format"));
  }

  TEST_CASE("hand-made tensors are views of their storage with the pickled size, stride and offset") {
    TempDir dir("weights");
    const std::string pickle = Pickle()
                                   .op('}')
                                   .op('(')
                                   .str("matrix")
                                   .tensor("FloatStorage", "0", 6, 0, {2, 3}, {3, 1})
                                   .str("odd")
                                   .tensor("FloatStorage", "0", 6, 1, {3}, {2})
                                   .op('u')
                                   .done();
    auto t = by_name(read_state_dict(torch_zip(dir, "ok", pickle, {{"0", floats({0, 1, 2, 3, 4, 5})}}), ""));
    CHECK(torch::equal(t["matrix"], torch::arange(6, torch::kFloat32).reshape({2, 3})));
    CHECK(torch::equal(t["odd"], torch::tensor({1.0f, 3.0f, 5.0f})));
  }

  TEST_CASE("hostile tensor headers are refused before anything is allocated") {
    TempDir dir("weights");
    const std::string six = floats({0, 1, 2, 3, 4, 5});
    auto one = [&](const std::string& type, const std::string& key, int64_t numel, int64_t offset,
                   const std::vector<int64_t>& sizes, const std::vector<int64_t>& strides) {
      const std::string pickle =
          Pickle().op('}').op('(').str("x").tensor(type, key, numel, offset, sizes, strides).op('u').done();
      return error_of(torch_zip(dir, "one", pickle, {{"0", six}}));
    };
    CHECK(says(one("FloatStorage", "0", 7, 0, {7}, {1}),
                   "storage \"0\" claims 7 elements of FloatStorage but its record holds only 24 bytes"));
    CHECK(says(one("DoubleStorage", "0", 4, 0, {4}, {1}), "claims 4 elements of DoubleStorage"));
    CHECK(says(one("FloatStorage", "0", int64_t(1) << 62, 0, {1}, {1}), "claims 4611686018427387904 elements"));
    CHECK(says(one("FloatStorage", "0", 6, 1, {2, 3}, {3, 1}), "reads past the end of its storage of 6 elements"));
    CHECK(says(one("FloatStorage", "0", 6, 0, {2}, {int64_t(1) << 62}), "reads past the end"));
    CHECK(says(one("FloatStorage", "0", 6, 7, {0}, {1}), "tensor offset 7 is outside its storage"));
    CHECK(says(one("FloatStorage", "0", 6, 0, {int64_t(1) << 40, int64_t(1) << 40}, {0, 0}), "is absurd"));
    CHECK(says(one("FloatStorage", "0", 6, 0, {1000}, {0}), "has more elements than its storage (6)"));
    CHECK(says(one("FloatStorage", "0", 6, 0, {-1}, {1}), "tensor size holds -1, which is not a size"));
    CHECK(says(one("FloatStorage", "0", 6, 0, {2}, {1, 1}), "tensor has 1 sizes but 2 strides"));
    CHECK(says(one("FloatStorage", "9", 6, 0, {6}, {1}),
                   "data.pkl refers to tensor storage \"9\" but the archive has no record data/9"));
    CHECK(says(one("ComplexFloatStorage", "0", 3, 0, {3}, {1}),
                   "refusing to load pickled global 'torch.ComplexFloatStorage'"));

    const std::string both = Pickle()
                                 .op('}')
                                 .op('(')
                                 .str("a")
                                 .tensor("FloatStorage", "0", 6, 0, {6}, {1})
                                 .str("b")
                                 .tensor("IntStorage", "0", 6, 0, {6}, {1})
                                 .op('u')
                                 .done();
    CHECK(says(error_of(torch_zip(dir, "both", both, {{"0", six}})), "storage \"0\" is used as both Float and Int"));
  }

  TEST_CASE("the unpickler refuses code, cycles, deep nesting and malformed pickles with the byte offset") {
    TempDir dir("weights");
    auto error = [&](const std::string& pickle) { return error_of(torch_zip(dir, "p", pickle)); };
    CHECK(says(error(Pickle().global("os", "system").str("touch /tmp/x").op('\x85').op('R').done()),
                   "refusing to load pickled global 'os.system': a weights file may hold only tensors, dicts, lists, "
                   "tuples, numbers and strings (pickle byte 2)"));
    // Protocol 4 spelling: STACK_GLOBAL.
    CHECK(says(error(Pickle().str("builtins").str("eval").op('\x93').done()),
                   "refusing to load pickled global 'builtins.eval'"));
    CHECK(says(error(Pickle().global("torch._utils", "_rebuild_tensor").done()),
                   "refusing to load pickled global 'torch._utils._rebuild_tensor'"));
    CHECK(says(error(Pickle().global("torch", "FloatStorage").op(')').op('R').done()),
                   "'torch.FloatStorage' cannot be called"));
    CHECK(says(error(Pickle().global("collections", "OrderedDict").op('}').op('\x85').op('R').done()),
                   "only OrderedDict() is supported"));

    Pickle deep;
    for (int i = 0; i < 300; ++i) deep.op(']');
    for (int i = 0; i < 299; ++i) deep.op('a');
    CHECK(says(error(deep.done()), "containers nested deeper than 256"));
    CHECK(says(error(Pickle().op(']').raw("q\x00"s).raw("h\x00"s).op('a').done()), "pickle puts a list into itself"));
    CHECK(says(error(Pickle().op(']').raw("q\x00"s).op(']').raw("h\x00"s).op('a').raw("h\x00"s).raw("K\x01"s).op('a').done()),
                   "APPEND changes a list that is already inside another container"));
    CHECK(says(error(Pickle().op('}').done().substr(0, 3)), "truncated pickle: no STOP opcode"));
    CHECK(says(error(Pickle().raw("X\xff\xff\xff\xff"s).done()), "truncated pickle: 4294967295 more bytes expected"));
    CHECK(says(error(Pickle().raw("\x8b\xff\xff\xff\x7f"s).done()), "truncated pickle: 2147483647 more bytes"));
    CHECK(says(error(Pickle().raw("h\x05"s).done()), "memo entry 5 read before it was stored"));
    CHECK(says(error(Pickle().op('i').done()), "unsupported pickle opcode 0x69 ('i') (pickle byte 2)"));
    CHECK(says(error(Pickle().op('s').done()), "pickle stack underflow"));
    CHECK(says(error(Pickle().op('}').op('(').op(']').integer(1).op('u').done()),
                   "dict key of type list is not supported"));
    CHECK(says(error(Pickle().op(']').done()), "expected a dict of tensors (a state dict or a checkpoint), found a list"));

    const std::string int_key = Pickle().op('}').op('(').integer(3).tensor("FloatStorage", "0", 1, 0, {1}, {1}).op('u').done();
    CHECK(says(error_of(torch_zip(dir, "k", int_key, {{"0", floats({1})}})), "a tensor is stored under a key of type int"));
  }

  TEST_CASE("zip entries claiming more bytes than the file holds are refused before PyTorch's reader allocates") {
    TempDir dir("weights");
    const std::string original = read_text(k_fixtures + "state_dict.pth");
    // The central directory entry of data.pkl: sizes at +20 (compressed) and +24 (uncompressed), method at +10.
    const size_t name = original.find("state_dict/data.pkl", original.find("PK\x01\x02"));
    REQUIRE(name != std::string::npos);
    const size_t entry = name - 46;
    REQUIRE(original.compare(entry, 4, "PK\x01\x02") == 0);
    auto with = [&](size_t offset, uint32_t value, uint32_t value2 = 0, size_t offset2 = 0) {
      std::string bytes = original;
      std::memcpy(&bytes[entry + offset], &value, 4);
      if (offset2) std::memcpy(&bytes[entry + offset2], &value2, 4);
      const auto path = dir / "state_dict.pth";
      write_file(path, bytes);
      return error_of(path.string());
    };
    CHECK(says(with(20, 0x7ffffff0, 0x7ffffff0, 24), "truncated or corrupt zip archive: entry \"state_dict/data.pkl\" "
                                                         "claims 2147483632 bytes at offset"));
    CHECK(says(with(24, 0x7ffffff0), "stored entry \"state_dict/data.pkl\" claims 2147483632 bytes but holds"));
    uint16_t deflate = 8;
    std::string bytes = original;
    std::memcpy(&bytes[entry + 10], &deflate, 2);
    const uint32_t huge = 0x7ffffff0;
    std::memcpy(&bytes[entry + 24], &huge, 4);
    write_file(dir / "state_dict.pth", bytes);
    CHECK(says(error_of((dir / "state_dict.pth").string()), "claims 2147483632 bytes from"));
  }

  TEST_CASE("hostile safetensors headers are refused: sizes, offsets, overlaps, holes, dtypes") {
    TempDir dir("weights");
    const std::string eight = floats({1, 2});
    auto error = [&](const std::string& bytes) {
      write_file(dir / "x.safetensors", bytes);
      return error_of((dir / "x.safetensors").string());
    };
    CHECK(says(error("abc"), "x.safetensors: truncated safetensors file (3 bytes)"));
    CHECK(says(error(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10)), "the header claims 9223372036854775807 bytes"));
    CHECK(says(error(safetensors("not json", "")), "bad safetensors header"));
    CHECK(says(error(safetensors("[1]", "")), "not a JSON object"));
    CHECK(says(error(safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", eight)),
                   "tensor \"a\": data_offsets [0, 16] lie past the end of the data (8 bytes)"));
    CHECK(says(error(safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", eight)),
                   "data_offsets [8, 0] end before they begin"));
    CHECK(says(error(safetensors(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight)),
                   "shape [3] of F32 needs 12 bytes but data_offsets [0, 8] hold 8"));
    CHECK(says(error(safetensors(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}})", eight)),
                   "is absurd"));
    CHECK(says(error(safetensors(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", eight)),
                   "shape holds a bad size"));
    CHECK(says(error(safetensors(R"({"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", eight)),
                   "shape holds a bad size"));
    CHECK(says(error(safetensors(R"({"a":{"dtype":"F8_E4M3","shape":[8],"data_offsets":[0,8]}})", eight)),
                   "unsupported dtype F8_E4M3"));
    CHECK(says(error(safetensors(R"({"a":{"dtype":"F32","shape":[2]}})", eight)),
                   "data_offsets is not a pair of byte offsets"));
    CHECK(says(error(safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                     R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                     eight + "xxxx")),
                   "tensors \"a\" and \"b\" overlap"));
    CHECK(says(error(safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                     R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
                                     eight + "xxxx" + eight)),
                   "bytes 8 to 12 of the data belong to no tensor"));
    CHECK(says(error(safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", eight + "tail")),
                   "bytes 8 to 12 of the data belong to no tensor"));

    // Many tensors over the same bytes would multiply the memory: refused as overlap.
    std::string many = "{";
    for (int i = 0; i < 100; ++i) many += fmt::format("{}\"t{}\":{{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", i ? "," : "", i);
    CHECK(says(error(safetensors(many + "}", eight)), "overlap"));

    write_file(dir / "ok.safetensors",
               safetensors(R"({"__metadata__":{"format":"pt"},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},)"
                           R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                           eight));
    auto t = by_name(read_state_dict((dir / "ok.safetensors").string(), ""));
    CHECK(torch::equal(t["a"], torch::tensor({1.0f, 2.0f})));
    CHECK((t["e"].sizes().vec() == std::vector<int64_t>{0, 3}));
  }

  TEST_CASE("random truncations, byte flips and insertions of real files give tensors or a zoo::Error, nothing else") {
    TempDir dir("weights-fuzz");
    std::mt19937 rng(20240611);
    auto below = [&](size_t n) { return n == 0 ? size_t(0) : std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
    const char k_interesting[] = {'\x00', '\xff', '\x7f', '\x80', '\x01', '\x40'};
    auto mutate = [&](std::string bytes) {
      const int rounds = 1 + int(below(3));
      for (int r = 0; r < rounds && !bytes.empty(); ++r) {
        switch (below(5)) {
          case 0:  // truncate
            bytes.resize(below(bytes.size()));
            break;
          case 1:  // flip a few bytes to random values
            for (size_t i = 1 + below(8); i > 0; --i) bytes[below(bytes.size())] = char(below(256));
            break;
          case 2:  // insert random bytes
            bytes.insert(below(bytes.size() + 1), std::string(1 + below(16), char(below(256))));
            break;
          case 3: {  // overwrite a run with a boundary value (hits size and offset fields)
            const size_t at = below(bytes.size());
            const size_t n = std::min(bytes.size() - at, 1 + below(8));
            std::memset(&bytes[at], k_interesting[below(sizeof(k_interesting))], n);
            break;
          }
          case 4: {  // change a digit (JSON sizes and offsets) or a small integer
            const size_t at = below(bytes.size());
            const size_t digit = bytes.find_first_of("0123456789", at);
            if (digit != std::string::npos) bytes[digit] = char('0' + below(10));
            else bytes[at] ^= char(1 << below(8));
            break;
          }
        }
      }
      return bytes;
    };

    struct Tally {
      int ok = 0, errors = 0;
    };
    std::map<std::string, Tally> tallies;
    int iterations = 0;
    auto attempt = [&](const std::string& what, const std::string& path) {
      ++iterations;
      const auto caught = catch_error([&] {
        const StateDict dict = read_state_dict(path, "");
        // Touch every element, so a view outside its memory would show (under ASan).
        for (const auto& [name, tensor] : dict.entries) (void)tensor.to(torch::kDouble).sum().item<double>();
      });
      INFO(what, " iteration ", iterations, ": ", caught.foreign);
      REQUIRE(caught.foreign.empty());
      (caught.thrown ? tallies[what].errors : tallies[what].ok)++;
    };

    const std::string pth = read_text(k_fixtures + "state_dict.pth");
    const std::string st = read_text(k_fixtures + "state_dict.safetensors");
    const std::string checkpoint = read_text(k_fixtures + "checkpoint.pth");
    const auto records = zip_records(k_fixtures + "state_dict.pth");
    constexpr int k_rounds = 800;
    for (int i = 0; i < k_rounds; ++i) {
      // The whole file: zip structure, CRCs, records.
      write_file(dir / "state_dict.pth", mutate(pth));
      attempt("torch.save file", (dir / "state_dict.pth").string());
      write_file(dir / "checkpoint.pth", mutate(checkpoint));
      attempt("checkpoint file", (dir / "checkpoint.pth").string());
      // data.pkl alone, re-zipped with valid CRCs so the unpickler sees every mutation.
      auto mutated = records;
      for (auto& [name, data] : mutated) {
        if (name == "data.pkl") data = mutate(data);
      }
      write_torch_zip(dir / "state_dict.pth", mutated);
      attempt("data.pkl", (dir / "state_dict.pth").string());
      write_file(dir / "state_dict.safetensors", mutate(st));
      attempt("safetensors file", (dir / "state_dict.safetensors").string());
    }
    for (const auto& [what, tally] : tallies) {
      MESSAGE(what, ": ", tally.ok, " read, ", tally.errors, " refused with a zoo::Error");
      CHECK(tally.errors > 0);
    }
    CHECK(iterations == 4 * k_rounds);
    CHECK(tallies["data.pkl"].ok > 0);
    CHECK(tallies["safetensors file"].ok > 0);
  }
}
