#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <memory>

#include "common.h"
#include "steadyeye/core/file.h"
#include "steadyeye/core/time.h"
#include "steadyeye/eval/robustness.h"
#include "steadyeye/model/model_card.h"
#include "steadyeye/review/accuracy.h"
#include "steadyeye/store/store.h"

#ifndef SEYE_WEB_DIR
#define SEYE_WEB_DIR "web"
#endif

namespace steadyeye::cli {

namespace fs = std::filesystem;

namespace {

struct RobustnessReportArgs {
  std::vector<std::string> models;
  std::string out;
  std::string data = "fashion-mnist:test";
  std::string conditions = "all";
  uint64_t condition_seed = kDefaultConditionSeed;
  size_t limit = 0;
  int threads = 0;
};

nlohmann::json ModelEntry(const std::string& label, const std::string& path,
                          const Classifier& model, const RobustnessResult& r) {
  return {{"label", label},
          {"path", path},
          {"id", model.card().id},
          {"clean", MetricsToJson(r.clean, model.card().class_names)},
          {"robustness", RobustnessToJson(r)}};
}

// Second model minus first, per cell, and how much of the first model's corruption error the
// second removes (the "mCE reduction").
nlohmann::json Difference(const RobustnessResult& a, const RobustnessResult& b,
                          const std::string& label) {
  nlohmann::json cells = nlohmann::json::array();
  for (size_t i = 0; i < a.cells.size(); ++i) {
    cells.push_back(
        {{"condition", a.cells[i].condition},
         {"severity", a.cells[i].severity},
         {"accuracy_delta", b.cells[i].metrics.accuracy - a.cells[i].metrics.accuracy}});
  }
  auto reduction = [](const std::optional<double>& first, const std::optional<double>& second) {
    if (!first || !second || *first >= 1.0) return nlohmann::json();
    return nlohmann::json(1.0 - (1.0 - *second) / (1.0 - *first));
  };
  return {{"label", label},
          {"cells", cells},
          {"clean_accuracy_delta", b.clean.accuracy - a.clean.accuracy},
          {"anticipated_error_reduction",
           reduction(a.mean_anticipated_accuracy, b.mean_anticipated_accuracy)},
          {"heldout_error_reduction", reduction(a.mean_heldout_accuracy, b.mean_heldout_accuracy)}};
}

// "</" inside a <script> element would end it early.
std::string EscapeForScript(const std::string& json) {
  std::string out;
  for (size_t i = 0; i < json.size(); ++i) {
    out += json[i];
    if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') out += "\\";
  }
  return out;
}

}  // namespace

Status WriteHtmlReport(const fs::path& dir, const std::string& kind, const nlohmann::json& report,
                       const std::string& page_name, const std::string& json_name) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return InvalidArgumentError("cannot create " + dir.string() + ": " + ec.message());
  SEYE_ASSIGN_OR_RETURN(const fs::path page, WebFile("report/" + kind + ".html"));
  SEYE_ASSIGN_OR_RETURN(const fs::path chart_lib,
                        WebFile("node_modules/echarts/dist/echarts.min.js"));
  SEYE_ASSIGN_OR_RETURN(const auto template_bytes, ReadFileBytes(page));
  std::string html(template_bytes.begin(), template_bytes.end());
  const std::string placeholder = "__STEADYEYE_REPORT_DATA__";
  const size_t at = html.find(placeholder);
  if (at == std::string::npos) return InternalError(page.string() + " lacks the data placeholder");
  html.replace(at, placeholder.size(), EscapeForScript(report.dump()));
  SEYE_ASSIGN_OR_RETURN(const auto lib, ReadFileBytes(chart_lib, size_t(64) << 20));
  SEYE_RETURN_IF_ERROR(WriteFileAtomic(dir / "echarts.min.js", lib));
  for (const char* shared : {"report.css", "report.js"}) {
    SEYE_ASSIGN_OR_RETURN(const fs::path file, WebFile(std::string("report/") + shared));
    SEYE_ASSIGN_OR_RETURN(const auto bytes, ReadFileBytes(file));
    SEYE_RETURN_IF_ERROR(WriteFileAtomic(dir / shared, bytes));
  }
  SEYE_RETURN_IF_ERROR(WriteFileAtomic(dir / json_name, report.dump(1) + "\n"));
  return WriteFileAtomic(dir / page_name, html);
}

namespace {

Status WriteReport(const std::string& out, const std::string& kind, const nlohmann::json& report) {
  SEYE_RETURN_IF_ERROR(WriteHtmlReport(out, kind, report, "index.html", kind + ".json"));
  std::printf("wrote %s/index.html and %s.json\n", out.c_str(), kind.c_str());
  return Status::Ok();
}

struct ProductionReportArgs {
  std::string store;
  std::string out;
  std::string site;
  std::string from;
  std::string to;
};

int RunProductionReport(const ProductionReportArgs& args) {
  std::optional<int64_t> from, to;
  for (auto [text, field] : {std::pair{&args.from, &from}, std::pair{&args.to, &to}}) {
    if (text->empty()) continue;
    auto t = ParseTimestamp(*text);
    if (!t.ok()) return Fail(t.status());
    *field = *t;
  }
  const Status st = WriteProductionReport(
      args.store, args.out, args.site.empty() ? std::nullopt : std::optional(args.site), from, to);
  return st.ok() ? 0 : Fail(st);
}

int RunRobustnessReport(const RobustnessReportArgs& args) {
  ConfigureCompute(args.threads);
  auto ref = ResolveDataRef(args.data, DataPurpose::kEvaluation);
  if (!ref.ok()) return Fail(ref.status());
  nlohmann::json report = {{"kind", "robustness"},
                           {"data", ref->ToString()},
                           {"condition_seed", args.condition_seed},
                           {"created_at", UtcNowIso8601()},
                           {"models", nlohmann::json::array()}};
  std::vector<RobustnessResult> results;
  for (size_t i = 0; i < args.models.size(); ++i) {
    auto model = Classifier::Load(args.models[i]);
    if (!model.ok()) return Fail(model.status());
    auto data = LoadForModel(*ref, **model, args.limit);
    if (!data.ok()) return Fail(data.status());
    std::fprintf(stderr, "model %c: %s\n", char('A' + i), args.models[i].c_str());
    auto result = EvaluateWithProgress(**model, *data, args.conditions, args.condition_seed);
    if (!result.ok()) return Fail(result.status());
    const std::string label =
        std::string(1, char('A' + i)) + ": " + fs::path(args.models[i]).stem().string();
    report["models"].push_back(ModelEntry(label, args.models[i], **model, *result));
    results.push_back(std::move(*result));
  }
  if (results.size() == 2) {
    if (results[0].clean.n != results[1].clean.n) {
      return Fail(InvalidArgumentError(
          "the two models saw different data (different inputs?): cannot compare"));
    }
    report["difference"] = Difference(results[0], results[1], "B - A");
  }
  if (Status st = WriteReport(args.out, "robustness", report); !st.ok()) return Fail(st);
  for (const auto& m : report["models"]) {
    std::printf("%s: clean %.4f, mean anticipated %s, mean held-out %s\n",
                m["label"].get<std::string>().c_str(), m["clean"]["accuracy"].get<double>(),
                m["robustness"]["mean_anticipated_accuracy"].dump().c_str(),
                m["robustness"]["mean_heldout_accuracy"].dump().c_str());
  }
  if (report.contains("difference")) {
    const auto& d = report["difference"];
    std::printf(
        "B vs A: anticipated corruption error reduced by %s, held-out by %s, clean accuracy "
        "%+.4f\n",
        d["anticipated_error_reduction"].dump().c_str(),
        d["heldout_error_reduction"].dump().c_str(), d["clean_accuracy_delta"].get<double>());
  }
  return 0;
}

}  // namespace

StatusOr<fs::path> WebFile(const std::string& relative) {
  const char* env = std::getenv("STEADYEYE_WEB_DIR");
  const fs::path root = env && *env ? fs::path(env) : fs::path(SEYE_WEB_DIR);
  const fs::path path = root / relative;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return NotFoundError(
        "web asset " + path.string() +
        " is missing (run scripts/setup.sh, which installs the web dependencies with npm; "
        "or set STEADYEYE_WEB_DIR)");
  }
  return path;
}

Status WriteProductionReport(const std::string& store_dir, const std::string& out,
                             const std::optional<std::string>& site, std::optional<int64_t> from,
                             std::optional<int64_t> to) {
  SEYE_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(store_dir));
  SEYE_ASSIGN_OR_RETURN(const auto records, store->ReviewRecords(site, from, to));
  const auto estimates = EstimateAccuracy(records);
  nlohmann::json report = {{"kind", "production"},
                           {"store", store_dir},
                           {"created_at", UtcNowIso8601()},
                           {"captures", records.size()},
                           {"estimates", nlohmann::json::array()}};
  for (const auto& e : estimates) report["estimates"].push_back(e.ToJson());
  SEYE_RETURN_IF_ERROR(WriteReport(out, "production", report));
  auto pct = [](const std::optional<double>& v) {
    return v ? fmt::format("{:.1f}%", 100 * *v) : std::string("n/a");
  };
  for (const auto& e : estimates) {
    if (!e.day.empty()) continue;
    std::printf(
        "site %s: automatic decisions %s (95%% %.1f-%.1f%%, %lld audited), final %s, review rate "
        "%s, bad images %s, reviewer agreement %s\n",
        e.site.c_str(), pct(e.auto_accuracy).c_str(), 100 * e.auto_interval.low,
        100 * e.auto_interval.high, static_cast<long long>(e.audit_answered),
        pct(e.final_accuracy).c_str(), pct(e.review_rate).c_str(), pct(e.bad_image_rate).c_str(),
        pct(e.reviewer_agreement).c_str());
  }
  return Status::Ok();
}

void AddReportCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("report", "Write HTML reports (with the JSON behind them)");
  cmd->require_subcommand(1);
  auto args = std::make_shared<RobustnessReportArgs>();
  auto* rob =
      cmd->add_subcommand("robustness", "Accuracy per condition x severity for one or two models");
  rob->add_option("--model", args->models,
                  "Model bundle; give --model twice to compare (B against A)")
      ->required()
      ->expected(1, 2);
  rob->add_option("--out", args->out, "Output folder (index.html, robustness.json)")->required();
  rob->add_option("--data", args->data, "Labelled data")->capture_default_str();
  rob->add_option("--conditions", args->conditions, "all, anticipated, heldout or names")
      ->capture_default_str();
  rob->add_option("--condition-seed", args->condition_seed, "Seed of the corrupted images")
      ->capture_default_str();
  rob->add_option("--limit", args->limit,
                  "At most this many images per cell, spread over classes (0 = all)");
  AddThreadsOption(*rob, args->threads);
  rob->callback([args, &exit_code] { exit_code = RunRobustnessReport(*args); });

  auto p = std::make_shared<ProductionReportArgs>();
  auto* prod = cmd->add_subcommand(
      "production",
      "True production accuracy per site and day from a store's audit and reviews, with plots");
  prod->add_option("--store", p->store, "Store folder")->required();
  prod->add_option("--out", p->out, "Output folder (index.html, production.json)")->required();
  prod->add_option("--site", p->site, "Only this site");
  prod->add_option("--from", p->from, "Captures taken at or after (ISO 8601 or epoch ms)");
  prod->add_option("--to", p->to, "Captures taken before (ISO 8601 or epoch ms)");
  prod->callback([p, &exit_code] { exit_code = RunProductionReport(*p); });
}

}  // namespace steadyeye::cli
