// Every subcommand through the real binary, on real Fashion-MNIST data.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "fixture.h"
#include "steadyeye/core/file.h"
#include "test_util.h"

namespace steadyeye {
namespace {

using testing::Binary;
using testing::RunCommand;

std::vector<nlohmann::json> JsonLines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

std::vector<std::string> ListFiles(const std::string& folder) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(folder)) {
    if (e.is_regular_file()) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

using testing::ReadFileText;

class Cli : public ::testing::Test {
 protected:
  // One small model, trained once through the CLI, shared by the tests below.
  // The small model of the shared fixture (tests/fixtures/make_fixture.sh: trained once per test
  // run through this same CLI), copied, with the output of its training.
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    train_result_ = new testing::CommandResult;
    std::string error;
    const std::string fixture = testing::SharedFixture(error);
    train_result_->exit_code = error.empty() ? 0 : 1;
    train_result_->err = error;
    if (!error.empty()) return;
    std::filesystem::copy_file(fixture + "/tiny.seye", Model());
    train_result_->out = *ReadFileText(fixture + "/train.out");
    train_result_->err = *ReadFileText(fixture + "/train.err");
  }
  static void TearDownTestSuite() {
    delete train_result_;
    delete dir_;
  }
  static std::string Model() { return (*dir_ / "tiny.seye").string(); }
  static std::string Path(const std::string& name) { return (*dir_ / name).string(); }

  static testing::TempDir* dir_;
  static testing::CommandResult* train_result_;
};
testing::TempDir* Cli::dir_ = nullptr;
testing::CommandResult* Cli::train_result_ = nullptr;

TEST_F(Cli, VersionAndHelpForEveryCommand) {
  const auto v = RunCommand(Binary() + " --version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out, "steadyeye 0.1.0\n");
  const auto help = RunCommand(Binary() + " --help");
  EXPECT_EQ(help.exit_code, 0);
  // Every subcommand the top-level help lists (two-space indent under "Subcommands:").
  std::vector<std::string> commands;
  const std::regex listed(R"(\n  ([a-z][a-z-]*) )");
  const size_t section = help.out.find("Subcommands:");
  ASSERT_NE(section, std::string::npos) << help.out;
  for (std::sregex_iterator m(help.out.begin() + long(section), help.out.end(), listed), end;
       m != end; ++m)
    commands.push_back((*m)[1]);
  for (const char* cmd : {"demo", "train", "eval", "predict", "serve", "replay", "loop", "models"})
    EXPECT_NE(std::find(commands.begin(), commands.end(), cmd), commands.end()) << help.out;
  // Every command's options, expanded on one page: one start of steadyeye-full instead of one
  // per command (each loads LibTorch, seconds under the sanitizers).
  const auto all = RunCommand(Binary() + " --help-all");
  EXPECT_EQ(all.exit_code, 0);
  for (const std::string& cmd : commands)
    EXPECT_NE(all.out.find("\n" + cmd + "\n  "), std::string::npos) << cmd << "\n" << all.out;
  EXPECT_NE(all.out.find("--widths"), std::string::npos);  // train's own options are there
  // `<command> --help`: one the launcher runs itself, one it hands to steadyeye-full.
  for (const char* cmd : {"shift", "train"}) {
    const auto sub = RunCommand(Binary() + " " + cmd + " --help");
    EXPECT_EQ(sub.exit_code, 0) << cmd;
    EXPECT_NE(sub.out.find("Usage"), std::string::npos) << cmd;
  }
  EXPECT_EQ(RunCommand(Binary()).exit_code, 2);                  // no subcommand
  EXPECT_EQ(RunCommand(Binary() + " train").exit_code, 2);       // --out missing
  EXPECT_EQ(RunCommand(Binary() + " frobnicate").exit_code, 2);  // unknown command
}

// steadyeye runs the commands that need no model without loading LibTorch and hands every
// other command line to steadyeye-full (apps/steadyeye/app.h).
TEST_F(Cli, OnlyCommandsThatNeedAModelLoadLibTorch) {
  const auto loaded = [](const std::string& args) {
    const auto r = RunCommand("LD_DEBUG=libs " + Binary() + " " + args);
    return r.err.find("libtorch_cpu.so") != std::string::npos;
  };
  EXPECT_FALSE(loaded("shift --list"));
  EXPECT_FALSE(loaded("models list --store " + Path("registry-store")));
  EXPECT_FALSE(loaded("quality --help"));
  EXPECT_FALSE(loaded("models decisions --store " + Path("registry-store")));
  EXPECT_TRUE(loaded("--version"));
  EXPECT_TRUE(loaded("models register --help"));
  // `models --help` lists the subcommands only steadyeye-full has.
  const auto models = RunCommand(Binary() + " models --help");
  EXPECT_EQ(models.exit_code, 0);
  for (const char* sub : {"register", "gate", "list", "rollback", "decisions"})
    EXPECT_NE(models.out.find(std::string("\n  ") + sub + " "), std::string::npos) << models.out;
}

TEST_F(Cli, LauncherWithoutTheFullProgramSaysWhatIsMissing) {
  const auto alone = *dir_ / "alone";
  std::filesystem::create_directories(alone);
  std::filesystem::copy_file(Binary(), alone / "steadyeye");
  const std::string launcher = (alone / "steadyeye").string();
  EXPECT_EQ(RunCommand(launcher + " shift --list").exit_code, 0);
  const auto r = RunCommand(launcher + " train --out " + Path("never.seye"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot start " + (alone / "steadyeye-full").string() +
                       ", which runs the commands that load models: No such file"),
            std::string::npos)
      << r.err;
}

TEST_F(Cli, TrainShowsProgressAndWritesACompleteCard) {
  ASSERT_EQ(train_result_->exit_code, 0) << train_result_->err;
  EXPECT_NE(train_result_->out.find("saved"), std::string::npos);
  EXPECT_NE(train_result_->err.find("epoch 1/3"), std::string::npos);
  EXPECT_NE(train_result_->err.find("img/s"), std::string::npos);
  EXPECT_NE(train_result_->err.find("val acc"), std::string::npos);

  const auto r = RunCommand(Binary() + " model-card " + Model());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto card = nlohmann::json::parse(r.out);
  EXPECT_EQ(card["class_names"].size(), 10u);
  EXPECT_EQ(card["input"]["height"], 28);
  EXPECT_EQ(card["architecture"], "seye-cnn");
  EXPECT_EQ(card["hyperparameters"]["widths"], nlohmann::json({8, 16, 32}));
  EXPECT_EQ(card["training_data"]["source"], "fashion-mnist:train");
  EXPECT_EQ(card["training_data"]["fingerprint"].get<std::string>().size(), 64u);
  EXPECT_EQ(card["seed"], 4);
  EXPECT_EQ(card["parent_id"], "");
  EXPECT_FALSE(card["created_at"].get<std::string>().empty());
  EXPECT_TRUE(card["metrics"].contains("val_accuracy"));
  const std::string precision = card["hyperparameters"]["precision"];
  EXPECT_TRUE(precision == "bf16-autocast" || precision == "fp32") << precision;
  EXPECT_FALSE(card["hyperparameters"].contains("robust"));  // --standard
  // Training calibrates on its held-back calibration part (1/12 of 3,000 images here: too few
  // to certify 1%, so the card says nothing is decided automatically).
  EXPECT_NE(train_result_->out.find("calibrated on 250 held-back images"), std::string::npos)
      << train_result_->out;
  const auto& calibration = card["calibration"];
  EXPECT_GT(calibration["temperature"].get<double>(), 0.0);
  EXPECT_EQ(calibration["n_temperature"], 50);
  EXPECT_EQ(calibration["threshold"]["n"], 200);
  EXPECT_EQ(calibration["threshold"]["alpha"], 0.01);
  EXPECT_EQ(calibration["threshold"]["certified"], false);
  EXPECT_TRUE(calibration["ece_before"].is_number() && calibration["ece_after"].is_number());
  EXPECT_EQ(calibration["data"], "fashion-mnist:train (calibration part)");
}

TEST_F(Cli, CalibrateCertifiesAThresholdAndEvalReportsAutomaticDecisions) {
  const auto r =
      RunCommand(Binary() + " calibrate --json --model " + Model() + " --out " +
                 Path("calibrated.seye") + " --data fashion-mnist:val --alpha 0.2 --audit 20");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto& t = j["calibration"]["threshold"];
  EXPECT_EQ(t["certified"], true);
  EXPECT_EQ(t["alpha"], 0.2);
  EXPECT_EQ(t["n"], 2400);  // 4/5 of the 3,000 validation images; 1/5 fitted the temperature
  EXPECT_LE(t["error_upper_bound"].get<double>(), 0.2);
  EXPECT_EQ(j["calibration"]["data"], "fashion-mnist:val");
  EXPECT_EQ(j["audit"]["draws"], 20);
  EXPECT_EQ(j["audit"]["calibration_size"], 1500);
  EXPECT_EQ(j["saved"], Path("calibrated.seye"));

  const auto e = RunCommand(Binary() + " eval --json --model " + Path("calibrated.seye") +
                            " --limit 500 --conditions jpeg");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  const auto ev = nlohmann::json::parse(e.out);
  const double coverage = ev["automatic"]["coverage"];
  EXPECT_GT(coverage, 0.05);
  EXPECT_LT(coverage, 1.0);
  EXPECT_LE(ev["automatic"]["error"].get<double>(), 0.3);
  ASSERT_EQ(ev["conditions"].size(), 5u);
  for (const auto& c : ev["conditions"]) EXPECT_TRUE(c["automatic"]["coverage"].is_number());
  const auto text =
      RunCommand(Binary() + " eval --model " + Path("calibrated.seye") + " --limit 200");
  EXPECT_NE(text.out.find("automatic decisions (confidence >="), std::string::npos) << text.out;

  // The uncalibrable case and data that must not be calibrated on.
  const auto plain = RunCommand(Binary() + " eval --json --model " + Model() + " --limit 100");
  EXPECT_TRUE(nlohmann::json::parse(plain.out)["automatic"].is_object());
  for (const char* data : {"fashion-mnist:test", "fashion-mnist:train"}) {
    const auto bad = RunCommand(Binary() + " calibrate --model " + Model() + " --data " + data);
    EXPECT_EQ(bad.exit_code, 1) << data;
    EXPECT_NE(bad.err.find("calibrate on images held back from training"), std::string::npos)
        << bad.err;
  }
  const auto missing = RunCommand(Binary() + " calibrate --model " + Path("nope.seye"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope.seye"), std::string::npos) << missing.err;
}

TEST_F(Cli, Fp32FlagTurnsMixedPrecisionOff) {
  const auto r = RunCommand(Binary() + " train --data fashion-mnist --out " + Path("fp32.seye") +
                            " --epochs 1 --limit 600 --widths 4 --depths 1 --fp32");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto card =
      nlohmann::json::parse(RunCommand(Binary() + " model-card " + Path("fp32.seye")).out);
  EXPECT_EQ(card["hyperparameters"]["precision"], "fp32");
  // Robust training is the default, and the card says how it was done.
  EXPECT_EQ(card["hyperparameters"]["robust"]["conditions"].size(), 14u);
  EXPECT_NE(card["hyperparameters"]["robust"]["method"].get<std::string>().find("Jensen-Shannon"),
            std::string::npos);
}

TEST_F(Cli, HeldBackSplitsAreForEvaluationOnly) {
  const auto r = RunCommand(Binary() + " train --data fashion-mnist:val --out " + Path("val.seye"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("fashion-mnist:val is held back from training"), std::string::npos);
  const auto e = RunCommand(Binary() + " eval --json --model " + Model() +
                            " --data fashion-mnist:calib --limit 100");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_EQ(nlohmann::json::parse(e.out)["data"], "fashion-mnist:calib");
}

TEST_F(Cli, EvalUnderConditionsListsEveryCellAndTheMeans) {
  const auto r = RunCommand(Binary() + " eval --json --model " + Model() +
                            " --limit 200 --conditions underexposure,haze --condition-seed 3");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["conditions"].size(), 10u);
  for (const auto& c : j["conditions"]) {
    for (const char* key : {"condition", "severity", "accuracy", "ece", "n"})
      EXPECT_TRUE(c.contains(key)) << key;
    EXPECT_EQ(c["n"], 200);
  }
  EXPECT_EQ(j["conditions"][5]["condition"], "haze");
  EXPECT_EQ(j["conditions"][5]["held_out"], true);
  for (const char* key : {"mean_anticipated_accuracy", "mean_heldout_accuracy", "relative_drop"}) {
    EXPECT_TRUE(j[key].is_number()) << key;
  }
  EXPECT_EQ(j["condition_seed"], 3);
  // Same seed, same images, same figures.
  EXPECT_EQ(nlohmann::json::parse(
                RunCommand(Binary() + " eval --json --model " + Model() +
                           " --limit 200 --conditions underexposure,haze --condition-seed 3")
                    .out),
            j);
  const auto table =
      RunCommand(Binary() + " eval --model " + Model() + " --limit 100 --conditions heldout");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("mean held-out accuracy"), std::string::npos);
  EXPECT_NE(table.out.find("zoom*"), std::string::npos);
  const auto bad =
      RunCommand(Binary() + " eval --model " + Model() + " --limit 100 --conditions rain");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("unknown condition 'rain'"), std::string::npos);
}

TEST_F(Cli, QualityGateFlagsADarkFrameWithItsCause) {
  const auto b =
      RunCommand(Binary() + " quality baseline --images fashion-mnist:train --limit 2000 --out " +
                 Path("site.json"));
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.out.find("2000 reference images"), std::string::npos);
  const std::string folder = Path("quality");
  ASSERT_EQ(
      RunCommand(Binary() + " export-images --data fashion-mnist:test --limit 10 --out " + folder)
          .exit_code,
      0);
  const std::string clean = ListFiles(folder)[0];
  ASSERT_EQ(RunCommand(Binary() + " shift --condition underexposure --severity 4 " + clean + " " +
                       Path("dark.png"))
                .exit_code,
            0);
  const auto r = RunCommand(Binary() + " quality --json --baseline " + Path("site.json") + " " +
                            clean + " " + Path("dark.png") + " " + Path("missing.png"));
  EXPECT_EQ(r.exit_code, 1);  // one file missing
  const auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["verdict"], "pass") << lines[0];
  EXPECT_EQ(lines[1]["verdict"], "flag");
  EXPECT_NE(lines[1]["flags"][0]["cause"].get<std::string>().find("too dark"), std::string::npos)
      << lines[1];
  EXPECT_NE(lines[2]["error"].get<std::string>().find("no such file"), std::string::npos);
  const auto text = RunCommand(Binary() + " quality " + Path("dark.png"));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("metrics only"), std::string::npos);
  EXPECT_NE(text.out.find("sharpness="), std::string::npos);
  const auto test_split = RunCommand(
      Binary() + " quality baseline --images fashion-mnist:test --out " + Path("t.json"));
  EXPECT_EQ(test_split.exit_code, 1);
  EXPECT_NE(test_split.err.find("evaluation only"), std::string::npos);
  ASSERT_TRUE(WriteFileAtomic(*dir_ / "broken.json", std::string("{\"format\"")).ok());
  const auto broken =
      RunCommand(Binary() + " quality --baseline " + Path("broken.json") + " " + clean);
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.err.find("not valid JSON"), std::string::npos);
  // A baseline learned with other metric definitions is refused with what to do, not applied.
  auto stale = nlohmann::json::parse(*ReadFileText(Path("site.json")));
  stale["metrics_version"] = stale["metrics_version"].get<int>() + 1;
  ASSERT_TRUE(WriteFileAtomic(*dir_ / "stale.json", stale.dump()).ok());
  const auto refused =
      RunCommand(Binary() + " quality --baseline " + Path("stale.json") + " " + clean);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("steadyeye quality baseline"), std::string::npos) << refused.err;
}

TEST_F(Cli, RobustnessReportWritesPageAndJson) {
  const std::string out = Path("report");
  const auto r =
      RunCommand(Binary() + " report robustness --model " + Model() + " --model " + Model() +
                 " --limit 100 --conditions underexposure,pixelate --out " + out);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(*ReadFileText(out + "/robustness.json"));
  ASSERT_EQ(j["models"].size(), 2u);
  EXPECT_EQ(j["models"][0]["robustness"]["conditions"].size(), 10u);
  EXPECT_EQ(j["difference"]["cells"].size(), 10u);
  EXPECT_EQ(j["difference"]["cells"][0]["accuracy_delta"], 0.0);  // the same model twice
  EXPECT_EQ(j["difference"]["anticipated_error_reduction"], 0.0);
  const std::string html = *ReadFileText(out + "/index.html");
  EXPECT_EQ(html.find("__STEADYEYE_REPORT_DATA__"), std::string::npos);
  EXPECT_NE(html.find("\"condition\":\"pixelate\""), std::string::npos);
  EXPECT_TRUE(std::filesystem::file_size(out + "/echarts.min.js") > 100000);
  const auto one = RunCommand(Binary() + " report robustness --model " + Model() +
                              " --limit 50 --conditions jpeg --out " + Path("report1"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_FALSE(nlohmann::json::parse(*ReadFileText(Path("report1") + "/robustness.json"))
                   .contains("difference"));
  EXPECT_EQ(RunCommand(Binary() + " report robustness --model " + Model() +
                       " --model a --model b --out x")
                .exit_code,
            2);
}

TEST_F(Cli, EvalJsonHasTheAgreedFields) {
  const auto r = RunCommand(Binary() + " eval --model " + Model() +
                            " --data fashion-mnist:test --limit 500 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["n"], 500);
  EXPECT_GT(j["accuracy"].get<double>(), 0.5);
  EXPECT_LE(j["accuracy"].get<double>(), 1.0);
  EXPECT_EQ(j["per_class"].size(), 10u);
  EXPECT_EQ(j["confusion"].size(), 10u);
  EXPECT_GT(j["nll"].get<double>(), 0.0);
  EXPECT_GE(j["ece"].get<double>(), 0.0);

  const auto table = RunCommand(Binary() + " eval --model " + Model() + " --limit 200");
  ASSERT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("accuracy"), std::string::npos);
  EXPECT_NE(table.out.find("Ankle_boot"), std::string::npos);
}

TEST_F(Cli, ExportedFolderEvaluatesExactlyLikeTheIdxSplit) {
  const std::string folder = Path("export");
  const auto e =
      RunCommand(Binary() + " export-images --data fashion-mnist:test --limit 60 --out " + folder);
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("wrote 60"), std::string::npos);
  const auto from_folder =
      RunCommand(Binary() + " eval --json --model " + Model() + " --data " + folder);
  const auto from_idx = RunCommand(Binary() + " eval --json --model " + Model() +
                                   " --data fashion-mnist:test --limit 60");
  ASSERT_EQ(from_folder.exit_code, 0) << from_folder.err;
  const auto a = nlohmann::json::parse(from_folder.out), b = nlohmann::json::parse(from_idx.out);
  EXPECT_EQ(a["confusion"], b["confusion"]);
  EXPECT_DOUBLE_EQ(a["nll"].get<double>(), b["nll"].get<double>());
}

TEST_F(Cli, TrainsOnAnImageFolderAndEvaluatesOnIt) {
  const std::string folder = Path("folder-train");
  ASSERT_EQ(
      RunCommand(Binary() + " export-images --data fashion-mnist:train --limit 800 --out " + folder)
          .exit_code,
      0);
  const auto train =
      RunCommand(Binary() + " train --data " + folder + " --out " + Path("folder.seye") +
                 " --epochs 2 --widths 4,8 --depths 1,1 --batch-size 32");
  ASSERT_EQ(train.exit_code, 0) << train.err;
  EXPECT_NE(train.err.find("decoding " + folder), std::string::npos);
  const auto card =
      nlohmann::json::parse(RunCommand(Binary() + " model-card " + Path("folder.seye")).out);
  EXPECT_EQ(card["training_data"]["source"], folder);
  EXPECT_EQ(card["class_names"].size(), 10u);
  EXPECT_EQ(card["input"]["channels"], 1);  // all exported images are gray
  const auto eval =
      RunCommand(Binary() + " eval --json --model " + Path("folder.seye") + " --data " + folder);
  ASSERT_EQ(eval.exit_code, 0) << eval.err;
  EXPECT_EQ(nlohmann::json::parse(eval.out)["n"], 800);
}

TEST_F(Cli, PredictAnswersGoodFilesAndExplainsBadOnes) {
  const std::string folder = Path("predict");
  ASSERT_EQ(RunCommand(Binary() + " export-images --limit 10 --out " + folder).exit_code, 0);
  ASSERT_TRUE(WriteFileAtomic(*dir_ / "empty.png", std::string()).ok());
  ASSERT_TRUE(WriteFileAtomic(*dir_ / "text.jpg", std::string("hello")).ok());
  auto png = *ReadFileBytes(
      folder + "/Bag/" +
      std::filesystem::directory_iterator(folder + "/Bag")->path().filename().string());
  png.resize(png.size() / 2);
  ASSERT_TRUE(WriteFileAtomic(*dir_ / "cut.png", png).ok());
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(folder)) {
    if (e.is_regular_file()) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 10u);
  const std::string good = files[0] + " " + files[1];
  const auto r = RunCommand(Binary() + " predict --json --model " + Model() + " " + good + " " +
                            Path("empty.png") + " " + Path("missing.png") + " " + Path("text.jpg") +
                            " " + Path("cut.png"));
  EXPECT_EQ(r.exit_code, 1);
  const auto lines = JsonLines(r.out);
  ASSERT_EQ(lines.size(), 6u);
  for (int i : {0, 1}) {
    EXPECT_TRUE(lines[i].contains("label")) << lines[i];
    EXPECT_EQ(lines[i]["top"].size(), 3u);
  }
  EXPECT_NE(lines[2]["error"].get<std::string>().find("empty"), std::string::npos);
  EXPECT_NE(lines[3]["error"].get<std::string>().find("no such file"), std::string::npos);
  EXPECT_NE(lines[4]["error"].get<std::string>().find("not a PNG or JPEG"), std::string::npos);
  EXPECT_NE(lines[5]["error"].get<std::string>().find("truncated PNG"), std::string::npos);

  const auto text = RunCommand(Binary() + " predict --model " + Model() + " " + good);
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.out.find("top:"), std::string::npos);
}

TEST_F(Cli, ImportedTorchScriptRunsThroughPredictAndEval) {
  const std::string script = Path("net.pt");
  ASSERT_EQ(
      RunCommand(std::string(SEYE_TEST_TOOLS_DIR) + "/make_torchscript_fixture " + script + " 10")
          .exit_code,
      0);
  const std::string classes =
      "T-shirt_top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle_boot";
  const auto imp = RunCommand(Binary() + " import-torchscript --model " + script + " --classes " +
                              classes + " --input 1x28x28 --out " + Path("ts.seye"));
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  const auto card =
      nlohmann::json::parse(RunCommand(Binary() + " model-card " + Path("ts.seye")).out);
  EXPECT_EQ(card["kind"], "torchscript");
  const auto ev = RunCommand(Binary() + " eval --json --limit 100 --model " + Path("ts.seye"));
  ASSERT_EQ(ev.exit_code, 0) << ev.err;
  EXPECT_EQ(nlohmann::json::parse(ev.out)["n"], 100);

  const auto bad = RunCommand(Binary() + " import-torchscript --model " + script +
                              " --classes a,b --out " + Path("x.seye"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("the card has 2"), std::string::npos);
}

TEST_F(Cli, BadInputsGetClearErrors) {
  const auto test_split =
      RunCommand(Binary() + " train --data fashion-mnist:test --out " + Path("x.seye"));
  EXPECT_EQ(test_split.exit_code, 1);
  EXPECT_NE(test_split.err.find("evaluation only"), std::string::npos);

  const auto missing = RunCommand(Binary() + " eval --model " + Path("nope.seye"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no such file"), std::string::npos);

  auto bytes = *ReadFileBytes(Model());
  bytes[bytes.size() / 3] ^= 1;
  ASSERT_TRUE(WriteFileAtomic(*dir_ / "damaged.seye", bytes).ok());
  const auto damaged = RunCommand(Binary() + " eval --model " + Path("damaged.seye"));
  EXPECT_EQ(damaged.exit_code, 1);
  EXPECT_NE(damaged.err.find("checksum mismatch"), std::string::npos);

  const auto no_data = RunCommand(Binary() + " eval --model " + Model() + " --data /no/such/dir");
  EXPECT_EQ(no_data.exit_code, 1);
  EXPECT_NE(no_data.err.find("neither fashion-mnist"), std::string::npos);
}

TEST_F(Cli, ShiftListsConditionsAndShiftsFilesAndFolders) {
  const auto list = RunCommand(Binary() + " shift --list");
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_EQ(std::count(list.out.begin(), list.out.end(), '\n'), 19);
  EXPECT_NE(list.out.find("held-out"), std::string::npos);

  const std::string folder = Path("shift-in");
  ASSERT_EQ(RunCommand(Binary() + " export-images --limit 20 --out " + folder).exit_code, 0);
  const auto a = RunCommand(Binary() + " shift --condition glare --severity 4 --seed 9 " + folder +
                            " " + Path("shift-a"));
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_NE(a.out.find("wrote 20 images"), std::string::npos);
  ASSERT_EQ(RunCommand(Binary() + " shift --condition glare --severity 4 --seed 9 " + folder + " " +
                       Path("shift-b"))
                .exit_code,
            0);
  size_t compared = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(Path("shift-a"))) {
    if (!e.is_regular_file()) continue;
    const auto rel = std::filesystem::relative(e.path(), Path("shift-a"));
    EXPECT_EQ(*ReadFileBytes(e.path()), *ReadFileBytes(Path("shift-b") / rel)) << rel;
    ++compared;
  }
  EXPECT_EQ(compared, 20u);

  std::string one;
  for (const auto& e : std::filesystem::recursive_directory_iterator(folder)) {
    if (e.is_regular_file()) one = e.path().string();
  }
  const auto file =
      RunCommand(Binary() + " shift --condition jpeg --severity 5 " + one + " " + Path("one.jpg"));
  EXPECT_EQ(file.exit_code, 0) << file.err;
  EXPECT_TRUE(std::filesystem::exists(Path("one.jpg")));

  const auto bad = RunCommand(Binary() + " shift --condition rain " + one + " " + Path("x.png"));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("unknown condition 'rain'"), std::string::npos);
  EXPECT_EQ(
      RunCommand(Binary() + " shift --condition glare --severity 9 " + one + " " + Path("x.png"))
          .exit_code,
      2);
}

TEST_F(Cli, DemoReusesAnExistingModelAndEvaluatesOnTheTestSplit) {
  const auto r = RunCommand(Binary() + " demo --skip-loop --model " + Model());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("reusing"), std::string::npos);
  EXPECT_NE(r.out.find("10000 images"), std::string::npos);
}

}  // namespace
}  // namespace steadyeye
