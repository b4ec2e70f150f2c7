#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "train/run_record.hpp"

using zoo::train::TrainOptions;

TEST_SUITE("train::with_recipe") {
  TEST_CASE("the config's train: section fills what the command line left out, and no more") {
    TrainOptions cli;
    cli.model = "configs/digits-cnn.yaml";
    cli.data = "cli-data";
    cli.epochs = 3;
    cli.threads = 2;
    cli.workers = 5;
    cli.given = {"data", "epochs", "threads", "workers"};
    const auto recipe = nlohmann::json::parse(
        R"({"data": "/recipe/data", "epochs": 45, "batch_size": 32, "lr": 0.003, "label_smoothing": 0.2,
            "val_split": 0, "optimizer": "sgd", "freeze": true})");
    const TrainOptions o = zoo::train::with_recipe(cli, recipe);
    CHECK(o.data == "cli-data");  // the flags win
    CHECK(o.epochs == 3);
    CHECK(o.threads == 2);
    CHECK(o.workers == 5);        // a runtime setting, kept
    CHECK(o.batch_size == 32);    // the recipe's
    CHECK(o.lr == doctest::Approx(0.003));
    CHECK(o.label_smoothing == doctest::Approx(0.2));
    CHECK(o.val_split == 0);
    CHECK(o.optimizer == "sgd");
    CHECK(o.freeze);
    CHECK(o.momentum == TrainOptions().momentum);  // neither: the default
    CHECK(o.from_config == std::vector<std::string>{"batch_size", "freeze", "label_smoothing", "lr", "optimizer",
                                                    "val_split"});

    // No flag: the recipe's epochs, not the default.
    TrainOptions bare;
    bare.model = "m.yaml";
    CHECK(zoo::train::with_recipe(bare, recipe).epochs == 45);
    CHECK(zoo::train::with_recipe(bare, nlohmann::json::object()).epochs == 0);  // 0 = the default, 10
  }
}
