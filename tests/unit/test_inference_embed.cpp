#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "inference/embedder.hpp"
#include "outputs/npy_embeddings.hpp"
#include "test_support.hpp"
#include "util/error.hpp"

using namespace zoo::inference;
using zoo::outputs::sibling_path;
using zoo::ErrorKind;
using zoo::test::catch_error;

TEST_SUITE("inference::embed") {
  TEST_CASE("the index and error log sit beside the .npy") {
    CHECK(sibling_path("out/emb.npy", ".paths.txt") == "out/emb.paths.txt");
    CHECK(sibling_path("EMB.NPY", ".errors.jsonl") == "EMB.errors.jsonl");
    CHECK(sibling_path("emb", ".paths.txt") == "emb.paths.txt");
    CHECK(sibling_path(".npy", ".paths.txt") == ".npy.paths.txt");
  }

  TEST_CASE("2-D outputs are rows as they are; 1-D outputs give one value per row") {
    zoo::models::Output out{{2, 3}, {1, 2, 3, 4, 5, 6}};
    std::vector<std::vector<float>> rows;
    pool_rows(out, 2, Pool::avg, rows);
    CHECK(rows == std::vector<std::vector<float>>{{1, 2, 3}, {4, 5, 6}});
    zoo::models::Output scalars{{2}, {7, 8}};
    pool_rows(scalars, 2, Pool::max, rows);
    CHECK(rows == std::vector<std::vector<float>>{{7}, {8}});
  }

  TEST_CASE("4-D outputs are pooled over the spatial dimensions, or flattened") {
    // [2, 2, 1, 3]: image 0 channel 0 = 1 2 3, channel 1 = -1 -2 -6; image 1 = 10x.
    zoo::models::Output out{{2, 2, 1, 3}, {1, 2, 3, -1, -2, -6, 10, 20, 30, -10, -20, -60}};
    std::vector<std::vector<float>> rows;
    pool_rows(out, 2, Pool::avg, rows);
    CHECK(rows == std::vector<std::vector<float>>{{2, -3}, {20, -30}});
    pool_rows(out, 2, Pool::max, rows);
    CHECK(rows == std::vector<std::vector<float>>{{3, -1}, {30, -10}});
    pool_rows(out, 2, Pool::flatten, rows);
    CHECK(rows == std::vector<std::vector<float>>{{1, 2, 3, -1, -2, -6}, {10, 20, 30, -10, -20, -60}});
    // 5-D outputs pool over every axis after the channels.
    zoo::models::Output volume{{1, 2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 9}};
    pool_rows(volume, 1, Pool::avg, rows);
    CHECK(rows == std::vector<std::vector<float>>{{2.5, 6.75}});
  }

  TEST_CASE("3-D outputs are transformer tokens [N, T, D]: pooled over the tokens") {
    // Image 0: tokens (1, 30), (5, 70), (3, 20); image 1: negated.
    zoo::models::Output tokens{{2, 3, 2}, {1, 30, 5, 70, 3, 20, -1, -30, -5, -70, -3, -20}};
    std::vector<std::vector<float>> rows;
    pool_rows(tokens, 2, Pool::avg, rows);
    CHECK(rows == std::vector<std::vector<float>>{{3, 40}, {-3, -40}});
    pool_rows(tokens, 2, Pool::max, rows);
    CHECK(rows == std::vector<std::vector<float>>{{5, 70}, {-1, -20}});
    pool_rows(tokens, 2, Pool::flatten, rows);
    CHECK(rows[0].size() == 6);
  }

  TEST_CASE("an output that is not one row per image is a model error with its shape") {
    zoo::models::Output out{{3, 4}, std::vector<float>(12)};
    std::vector<std::vector<float>> rows;
    const auto caught = catch_error([&] { pool_rows(out, 2, Pool::avg, rows); });
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::model);
    CHECK_MESSAGE(caught.message == "the embedding output has shape [3, 4], expected [2, ...] (one row per image)",
                  caught.message);
  }

  TEST_CASE("rows are scaled to unit length; zero rows stay zero") {
    std::vector<float> row = {3, 4};
    l2_normalize(row.data(), row.size());
    CHECK(row[0] == doctest::Approx(0.6));
    CHECK(row[1] == doctest::Approx(0.8));
    std::vector<float> zero = {0, 0, 0};
    l2_normalize(zero.data(), zero.size());
    CHECK(zero == std::vector<float>{0, 0, 0});
  }

  TEST_CASE("pool names parse; others are usage errors") {
    CHECK(parse_pool("avg") == Pool::avg);
    CHECK(parse_pool("max") == Pool::max);
    CHECK(parse_pool("flatten") == Pool::flatten);
    const auto caught = catch_error([] { parse_pool("mean"); });
    REQUIRE_MESSAGE(caught.thrown, caught.foreign);
    CHECK(caught.kind == ErrorKind::usage);
  }
}
