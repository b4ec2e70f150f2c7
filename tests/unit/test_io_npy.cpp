#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "io/npy.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace zoo::io;
using zoo::ErrorKind;
using zoo::test::catch_error;
using zoo::test::read_text;
using zoo::test::TempDir;
using zoo::test::write_file;

namespace {

std::vector<float> iota_rows(size_t rows, size_t cols, float start) {
  std::vector<float> values(rows * cols);
  for (size_t i = 0; i < values.size(); ++i) values[i] = start + float(i) * 0.5f;
  return values;
}

uint16_t bits_of_half(float value) { return float_to_half(value); }

float from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

}  // namespace

TEST_SUITE("io::npy") {
  TEST_CASE("the header is version 1.0, 128 bytes, 64-aligned, space padded and ends in a newline") {
    const std::string header = encode_npy_header(NpyDtype::float32, 3, 512);
    REQUIRE(header.size() == k_npy_header_bytes);
    CHECK(header.size() % 64 == 0);
    CHECK(header.compare(0, 6, "\x93NUMPY") == 0);
    CHECK(int(header[6]) == 1);
    CHECK(int(header[7]) == 0);
    const size_t length = uint8_t(header[8]) | (size_t(uint8_t(header[9])) << 8);
    CHECK(10 + length == header.size());
    CHECK(header.back() == '\n');
    CHECK(header.find("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 512), }") == 10);
    CHECK(header.find_first_not_of(' ', header.find('}') + 1) == header.size() - 1);

    const std::string half = encode_npy_header(NpyDtype::float16, 0, 7);
    CHECK(half.find("'descr': '<f2'") != std::string::npos);
    CHECK(half.find("'shape': (0, 7)") != std::string::npos);

    // The largest counts still fit, so the header can always be rewritten in place.
    const std::string big = encode_npy_header(NpyDtype::float32, UINT64_MAX, UINT64_MAX);
    CHECK(big.size() == k_npy_header_bytes);
    CHECK(big.back() == '\n');
  }

  TEST_CASE("headers parse back, including numpy's own 1-D and version 2.0 spellings") {
    const NpyHeader ours = parse_npy_header(encode_npy_header(NpyDtype::float16, 12, 34), "a.npy");
    CHECK(ours.dtype == NpyDtype::float16);
    CHECK(ours.shape == std::vector<uint64_t>{12, 34});
    CHECK(ours.header_bytes == k_npy_header_bytes);

    // np.save(np.zeros(5, 'f4')): numpy pads to a multiple of 64 bytes.
    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }";
    dict.resize(128 - 10 - 1, ' ');
    dict += '\n';
    std::string numpy_1d = std::string("\x93NUMPY\x01\x00", 8) + char(dict.size()) + char(0) + dict;
    const NpyHeader one_d = parse_npy_header(numpy_1d, "b.npy");
    CHECK(one_d.shape == std::vector<uint64_t>{5});
    CHECK(one_d.rows() == 5);
    CHECK(one_d.cols() == 1);
    CHECK(one_d.header_bytes == 128);

    std::string v2 = std::string("\x93NUMPY\x02\x00", 8) + char(dict.size()) + std::string(3, '\0') + dict;
    CHECK(parse_npy_header(v2, "c.npy").shape == std::vector<uint64_t>{5});
  }

  TEST_CASE("unsupported headers are io errors naming the file") {
    auto check_error = [](const std::string& bytes, const std::string& part) {
      const auto caught = catch_error([&] { parse_npy_header(bytes, "x.npy"); });
      REQUIRE_MESSAGE(caught.thrown, caught.foreign);
      CHECK(caught.kind == ErrorKind::io);
      CHECK_MESSAGE(caught.message.rfind("x.npy: ", 0) == 0, caught.message);
      CHECK_MESSAGE(caught.message.find(part) != std::string::npos, caught.message);
    };
    check_error("PK\x03\x04 a zip file", "not an NPY file");
    std::string f8 = encode_npy_header(NpyDtype::float32, 1, 1);
    f8.replace(f8.find("<f4"), 3, "<f8");
    check_error(f8, "'<f8' is not supported");
    std::string fortran = encode_npy_header(NpyDtype::float32, 1, 1);
    fortran.replace(fortran.find("False"), 5, "True ");
    check_error(fortran, "Fortran order");
    std::string three_d = encode_npy_header(NpyDtype::float32, 1, 1);
    three_d.replace(three_d.find("(1, 1)"), 6, "(1,1,1)");
    check_error(three_d, "3 dimensions");
    check_error(encode_npy_header(NpyDtype::float32, 1, 1).substr(0, 40), "cut off");
  }

  TEST_CASE("the file is a valid NPY after every flush and grows batch by batch") {
    TempDir dir("npy-grow");
    const std::string path = (dir / "emb.npy").string();
    INFO("output: ", path);
    NpyWriter writer(path, NpyDtype::float32, 4);
    {
      const NpyArray empty = read_npy(path);
      CHECK(empty.header.shape == std::vector<uint64_t>{0, 4});
      CHECK(std::filesystem::file_size(path) == k_npy_header_bytes);
    }
    const auto first = iota_rows(2, 4, 0.f);
    writer.append(first.data(), 2, 4);
    writer.flush();
    NpyArray a = read_npy(path);
    CHECK(a.header.shape == std::vector<uint64_t>{2, 4});
    CHECK(a.values == first);

    const auto second = iota_rows(3, 4, 100.f);
    writer.append(second.data(), 3, 4);
    writer.flush();
    a = read_npy(path);
    CHECK(a.header.shape == std::vector<uint64_t>{5, 4});
    std::vector<float> all = first;
    all.insert(all.end(), second.begin(), second.end());
    CHECK(a.values == all);
    CHECK(writer.rows() == 5);
    CHECK(std::filesystem::file_size(path) == k_npy_header_bytes + 5 * 4 * 4);
  }

  TEST_CASE("columns unknown at creation are set by the first append") {
    TempDir dir("npy-cols");
    const std::string path = (dir / "emb.npy").string();
    NpyWriter writer(path, NpyDtype::float32, 0);
    CHECK(read_npy(path).header.shape == std::vector<uint64_t>{0, 0});
    const auto rows = iota_rows(2, 3, 1.f);
    writer.append(rows.data(), 1, 3);
    writer.flush();
    CHECK(writer.cols() == 3);
    CHECK(read_npy(path).header.shape == std::vector<uint64_t>{1, 3});
    // Other widths are refused once it is set.
    const auto caught = catch_error([&] { writer.append(rows.data(), 1, 2); });
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::data);
    CHECK_MESSAGE(caught.message == path + ": rows have 3 values, not 2", caught.message);
    CHECK(read_npy(path).header.shape == std::vector<uint64_t>{1, 3});
  }

  TEST_CASE("resume recovers the rows from the file size and cuts off a torn row") {
    TempDir dir("npy-torn");
    const std::string path = (dir / "emb.npy").string();
    INFO("output: ", path);
    const auto rows = iota_rows(3, 5, -2.f);
    {
      NpyWriter writer(path, NpyDtype::float32, 5);
      writer.append(rows.data(), 2, 5);
      writer.flush();
      // A crash after the data of row 3 but before the header rewrite,
      // with half of a fourth row written.
      writer.append(rows.data() + 10, 1, 5);
    }
    std::string bytes = read_text(path);
    CHECK(bytes.find("'shape': (2, 5)") != std::string::npos);  // the header lags
    bytes += std::string(7, 'x');
    write_file(path, bytes);

    NpyRecovery recovery;
    NpyWriter resumed = NpyWriter::resume(path, NpyDtype::float32, &recovery);
    CHECK(recovery.rows == 3);
    CHECK(recovery.header_rows == 2);
    CHECK(recovery.torn_bytes == 7);
    CHECK(resumed.rows() == 3);
    CHECK(resumed.cols() == 5);
    CHECK(std::filesystem::file_size(path) == k_npy_header_bytes + 3 * 5 * 4);
    NpyArray a = read_npy(path);
    CHECK(a.header.shape == std::vector<uint64_t>{3, 5});
    CHECK(a.values == rows);

    // Appending continues after the recovered rows; truncate drops rows.
    const auto more = iota_rows(1, 5, 50.f);
    resumed.append(more.data(), 1, 5);
    resumed.flush();
    CHECK(read_npy(path).header.shape == std::vector<uint64_t>{4, 5});
    resumed.truncate(2);
    a = read_npy(path);
    CHECK(a.header.shape == std::vector<uint64_t>{2, 5});
    CHECK(std::vector<float>(a.values.begin(), a.values.end()) == std::vector<float>(rows.begin(), rows.begin() + 10));
    CHECK(std::filesystem::file_size(path) == k_npy_header_bytes + 2 * 5 * 4);
    resumed.truncate(9);  // more rows than there are: nothing happens
    CHECK(resumed.rows() == 2);
  }

  TEST_CASE("a file cut inside the first row resumes with zero rows") {
    TempDir dir("npy-torn-first");
    const std::string path = (dir / "emb.npy").string();
    {
      NpyWriter writer(path, NpyDtype::float16, 8);
    }
    write_file(path, read_text(path) + std::string(5, '\0'));
    NpyRecovery recovery;
    NpyWriter resumed = NpyWriter::resume(path, NpyDtype::float16, &recovery);
    CHECK(recovery.rows == 0);
    CHECK(recovery.torn_bytes == 5);
    CHECK(std::filesystem::file_size(path) == k_npy_header_bytes);
  }

  TEST_CASE("resume refuses another dtype (usage) and files zoo did not write (io)") {
    TempDir dir("npy-resume-refuse");
    const std::string path = (dir / "emb.npy").string();
    { NpyWriter writer(path, NpyDtype::float16, 2); }
    const auto dtype = catch_error([&] { NpyWriter::resume(path, NpyDtype::float32); });
    REQUIRE_MESSAGE(dtype.thrown, dtype.foreign);
    CHECK(dtype.kind == ErrorKind::usage);
    CHECK_MESSAGE(dtype.message.find(path + ": holds float16 rows but --dtype is float32") == 0, dtype.message);

    std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }";
    dict.resize(128 - 10 - 1, ' ');
    dict += '\n';
    write_file(path, std::string("\x93NUMPY\x01\x00", 8) + char(dict.size()) + char(0) + dict + std::string(20, '\0'));
    const auto foreign = catch_error([&] { NpyWriter::resume(path, NpyDtype::float32); });
    REQUIRE_MESSAGE(foreign.thrown, foreign.foreign);
    CHECK(foreign.kind == ErrorKind::io);
    CHECK_MESSAGE(foreign.message.find("not an embeddings file zoo wrote") != std::string::npos, foreign.message);

    const auto missing = catch_error([&] { NpyWriter::resume((dir / "none.npy").string(), NpyDtype::float32); });
    REQUIRE_MESSAGE(missing.thrown, missing.foreign);
    CHECK(missing.kind == ErrorKind::io);
  }

  TEST_CASE("float16 conversion rounds to nearest even and keeps specials") {
    CHECK(bits_of_half(0.f) == 0x0000);
    CHECK(bits_of_half(-0.f) == 0x8000);
    CHECK(bits_of_half(1.f) == 0x3c00);
    CHECK(bits_of_half(-2.f) == 0xc000);
    CHECK(bits_of_half(65504.f) == 0x7bff);  // largest half
    CHECK(bits_of_half(65519.f) == 0x7bff);  // below the halfway point to 65536
    CHECK(bits_of_half(65520.f) == 0x7c00);  // the tie rounds to even: infinity
    CHECK(bits_of_half(1e10f) == 0x7c00);
    CHECK(bits_of_half(-std::numeric_limits<float>::infinity()) == 0xfc00);
    const uint16_t nan = bits_of_half(std::numeric_limits<float>::quiet_NaN());
    CHECK((nan & 0x7c00) == 0x7c00);
    CHECK((nan & 0x03ff) != 0);

    // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1).
    CHECK(bits_of_half(1.f + std::ldexp(1.f, -11)) == 0x3c00);
    // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9: up.
    CHECK(bits_of_half(1.f + 3.f * std::ldexp(1.f, -11)) == 0x3c02);
    // Just above a tie rounds up.
    CHECK(bits_of_half(from_bits(0x3f801001)) == 0x3c01);
    // Just below rounds down.
    CHECK(bits_of_half(from_bits(0x3f800fff)) == 0x3c00);

    // Subnormals: 2^-24 is the smallest; 2^-25 ties to even (zero);
    // 3 * 2^-25 ties to even (2 * 2^-24).
    CHECK(bits_of_half(std::ldexp(1.f, -24)) == 0x0001);
    CHECK(bits_of_half(std::ldexp(1.f, -25)) == 0x0000);
    CHECK(bits_of_half(std::ldexp(1.f, -25) * 1.0001f) == 0x0001);
    CHECK(bits_of_half(3.f * std::ldexp(1.f, -25)) == 0x0002);
    CHECK(bits_of_half(std::ldexp(1.f, -14)) == 0x0400);              // smallest normal
    CHECK(bits_of_half(std::ldexp(1023.f, -24)) == 0x03ff);           // largest subnormal
    CHECK(bits_of_half(std::ldexp(1023.5f, -24)) == 0x0400);          // rounds up into the normals

    // Every half value survives a round trip through float.
    for (uint32_t h = 0; h < 0x10000; ++h) {
      const float f = half_to_float(uint16_t(h));
      if (std::isnan(f)) {
        CHECK(((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0));
        continue;
      }
      if (float_to_half(f) != h) {
        FAIL("half 0x", std::hex, h, " -> ", f, " -> 0x", float_to_half(f));
      }
    }
    // Exhaustive against the nearest-value definition on a dense sample of floats.
    int checked = 0;
    for (uint32_t bits = 0x33000000; bits < 0x477ff000; bits += 0x1001) {
      const float f = from_bits(bits);
      const uint16_t h = float_to_half(f);
      const double got = half_to_float(h);
      const double err = std::fabs(double(f) - got);
      if (h > 0) CHECK_MESSAGE(err <= std::fabs(double(f) - half_to_float(uint16_t(h - 1))), "float ", f);
      if (h < 0x7bff) CHECK_MESSAGE(err <= std::fabs(double(f) - half_to_float(uint16_t(h + 1))), "float ", f);
      ++checked;
    }
    CHECK(checked > 50000);
  }

  TEST_CASE("float16 files store the rounded values") {
    TempDir dir("npy-f16");
    const std::string path = (dir / "emb.npy").string();
    const std::vector<float> values = {0.1f, -3.14159f, 65504.f, 1e-7f, 1.f + std::ldexp(1.f, -11), 70000.f};
    {
      NpyWriter writer(path, NpyDtype::float16, 3);
      writer.append(values.data(), 2, 3);
      writer.flush();
    }
    CHECK(std::filesystem::file_size(path) == k_npy_header_bytes + 6 * 2);
    const NpyArray a = read_npy(path);
    CHECK(a.header.dtype == NpyDtype::float16);
    CHECK(a.header.shape == std::vector<uint64_t>{2, 3});
    for (size_t i = 0; i < values.size(); ++i) {
      CHECK(a.values[i] == half_to_float(float_to_half(values[i])));
    }
    CHECK(a.values[0] == doctest::Approx(0.1).epsilon(1e-3));
    CHECK(a.values[4] == 1.f);
    CHECK(std::isinf(a.values[5]));
  }

  TEST_CASE("reading a file shorter than its header promises is an io error") {
    TempDir dir("npy-short");
    const std::string path = (dir / "emb.npy").string();
    write_file(path, encode_npy_header(NpyDtype::float32, 4, 4) + std::string(10, '\0'));
    const auto caught = catch_error([&] { read_npy(path); });
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::io);
    CHECK_MESSAGE(caught.message == path + ": NPY file holds 10 data bytes but its shape needs 64", caught.message);
  }
}
