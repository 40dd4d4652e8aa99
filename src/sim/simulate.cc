#include "steadyeye/sim/simulate.h"

#include <algorithm>
#include <cmath>

#include "policy.h"
#include "steadyeye/core/time.h"
#include "steadyeye/eval/metrics.h"
#include "steadyeye/eval/robustness.h"
#include "steadyeye/model/classifier.h"
#include "steadyeye/model/predict.h"
#include "stream.h"

namespace steadyeye {

namespace {

using sim::Outcome;
using sim::PolicyRun;
using sim::Stream;

// A model trained on the whole train split has seen the production pool: its figures on the
// stream would flatter it.
Status CheckNeverSawTheStream(const SimulationOptions& o, const Classifier& model) {
  const std::string trained_on = model.card().training_data.value("source", "");
  for (const auto& ref : o.stream_data) {
    if (ref.kind == DataRef::Kind::kFashionMnist && ref.split == Split::kPool &&
        trained_on.rfind("fashion-mnist-lab", 0) != 0) {
      return InvalidArgumentError(o.lab_model.string() + " was trained on '" + trained_on +
                                  "', which holds the production pool the stream draws from; "
                                  "train the lab model on fashion-mnist-lab");
    }
  }
  return Status::Ok();
}

// The lab model's accuracy on clean held-out images: the bar the targets compare with.
StatusOr<double> CleanAccuracy(const SimulationOptions& o, const Classifier& model) {
  SEYE_ASSIGN_OR_RETURN(Dataset test, LoadDataset(o.clean_test, {}));
  SEYE_ASSIGN_OR_RETURN(const auto probs, PredictDataset(model, test));
  return ComputeMetrics(probs, test.labels, test.class_names.size()).accuracy;
}

// The lab model certified at the scenario's risk on its calibration part, as `steadyeye
// calibrate` would, when its card holds another alpha or delta: one lab model serves scenarios
// that accept different risks. The path the policies load: the lab model's own, or
// <out>/lab-model.seye. Replaces `model`'s calibration when it certifies it again.
StatusOr<std::filesystem::path> LabModelAtScenarioRisk(const SimulationOptions& o,
                                                       Classifier& model) {
  const auto& calibration = model.card().calibration;
  if (calibration && calibration->threshold.alpha == o.scenario.alpha &&
      calibration->threshold.delta == o.scenario.delta)
    return o.lab_model;
  SEYE_ASSIGN_OR_RETURN(const Dataset data, LoadDataset(o.clean_data, LoadOptionsFor(model)));
  const CalibrateOptions options{o.scenario.alpha, o.scenario.delta, o.clean_data.ToString(), {}};
  SEYE_RETURN_IF_ERROR(
      CalibrateForProduction(model, data, options, SiteRetrainOptions{}.shift_certificate_images)
          .status());
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  const std::filesystem::path path = o.out / "lab-model.seye";
  SEYE_RETURN_IF_ERROR(model.Save(path));
  return path;
}

struct DayCounts {
  int64_t images = 0, automatic = 0, auto_errors = 0, review = 0, reviewed_in_time = 0;
  int64_t final_correct = 0, quality_flags = 0, drift_suspended = 0, model_correct = 0;
};

// The decision that stands for an image: the reviewer's answer when it came by the end of the
// image's day, else the model's label (the line did not wait longer).
bool FinalCorrect(const Outcome& o, int truth) {
  if (!o.automatic && o.answer) return *o.answer == truth;
  return o.label == truth;
}

nlohmann::json DayJson(int day, const DayCounts& c, const std::string& version) {
  auto share = [](int64_t a, int64_t b) { return b > 0 ? nlohmann::json(double(a) / b) : nullptr; };
  return {{"day", day},
          {"images", c.images},
          {"auto_error", share(c.auto_errors, c.automatic)},
          {"auto_decisions", c.automatic},
          {"coverage", share(c.automatic, c.images)},
          {"review_rate", share(c.review, c.images)},
          {"reviewed_in_time", c.reviewed_in_time},
          {"final_accuracy", share(c.final_correct, c.images)},
          {"model_accuracy", share(c.model_correct, c.images)},
          {"quality_flags", c.quality_flags},
          {"drift_suspended", c.drift_suspended},
          {"model_version", version}};
}

// The day a site's first condition starts (the scenario's redesign counts for every site).
double FirstShiftDay(const Scenario& s, const SiteScenario& site) {
  double first = s.days + 1;
  for (const auto& e : site.events) first = std::min(first, e.from_day);
  if (s.redesign) first = std::min(first, s.redesign->day);
  return first;
}

struct SiteFigures {
  nlohmann::json days = nlohmann::json::array();
  DayCounts total, pre_shift, last10;
  double max_auto_error = 0;  // over site-days with automatic decisions
};

void Add(DayCounts& to, const DayCounts& c) {
  to.images += c.images;
  to.automatic += c.automatic;
  to.auto_errors += c.auto_errors;
  to.review += c.review;
  to.reviewed_in_time += c.reviewed_in_time;
  to.final_correct += c.final_correct;
  to.quality_flags += c.quality_flags;
  to.drift_suspended += c.drift_suspended;
  to.model_correct += c.model_correct;
}

double Rate(int64_t a, int64_t b) { return b > 0 ? double(a) / double(b) : 0; }

// `normal_review` (site -> rate): each site's review rate before its first shift under the
// static policy. The review-rate target compares with it rather than with the policy's own
// pre-shift rate, which a false drift alarm before the shift would inflate.
nlohmann::json PolicyJson(const PolicyRun& run, const Stream& stream, const Scenario& s,
                          const std::vector<std::map<std::string, std::string>>& versions,
                          double lab_accuracy, std::map<std::string, double>& normal_review,
                          nlohmann::json& targets) {
  std::vector<std::vector<DayCounts>> counts(s.sites.size(),
                                             std::vector<DayCounts>(size_t(s.days)));
  for (size_t i = 0; i < stream.images.size(); ++i) {
    const auto& image = stream.images[i];
    const Outcome& o = run.outcomes()[i];
    DayCounts& c = counts[size_t(image.site)][size_t(image.day - 1)];
    ++c.images;
    c.automatic += o.automatic;
    c.auto_errors += o.automatic && o.label != image.label;
    c.review += !o.automatic;
    c.reviewed_in_time += !o.automatic && o.answer.has_value();
    c.final_correct += FinalCorrect(o, image.label);
    c.quality_flags += o.quality_flag;
    c.drift_suspended += o.drift_suspended;
    c.model_correct += o.label == image.label;
  }
  nlohmann::json sites = nlohmann::json::object();
  bool every_day_under = true, review_within = true, final_above = true;
  for (size_t site = 0; site < s.sites.size(); ++site) {
    const std::string& name = s.sites[site].name;
    SiteFigures f;
    const double first_shift = FirstShiftDay(s, s.sites[site]);
    for (int day = 1; day <= s.days; ++day) {
      const DayCounts& c = counts[site][size_t(day - 1)];
      f.days.push_back(DayJson(day, c, versions[size_t(day - 1)].at(name)));
      Add(f.total, c);
      if (day < first_shift) Add(f.pre_shift, c);
      if (day > s.days - 10) Add(f.last10, c);
      if (c.automatic > 0)
        f.max_auto_error = std::max(f.max_auto_error, Rate(c.auto_errors, c.automatic));
    }
    const double pre_rate = Rate(f.pre_shift.review, f.pre_shift.images);
    const double normal = normal_review.try_emplace(name, pre_rate).first->second;
    const double last_rate = Rate(f.last10.review, f.last10.images);
    const double final_acc = Rate(f.total.final_correct, f.total.images);
    every_day_under = every_day_under && f.max_auto_error <= 0.02;
    review_within = review_within && f.pre_shift.images > 0 && last_rate <= 1.25 * normal;
    final_above = final_above && final_acc >= lab_accuracy;
    sites[name] = {{"days", std::move(f.days)},
                   {"first_shift_day", first_shift},
                   {"max_auto_error", f.max_auto_error},
                   {"auto_error", Rate(f.total.auto_errors, f.total.automatic)},
                   {"coverage", Rate(f.total.automatic, f.total.images)},
                   {"pre_shift_review_rate", pre_rate},
                   {"normal_review_rate", normal},
                   {"last10_review_rate", last_rate},
                   {"final_accuracy", final_acc},
                   {"model_accuracy", Rate(f.total.model_correct, f.total.images)}};
  }
  targets[run.name()] = {{"auto_error_at_most_2pct_every_site_day", every_day_under},
                         {"last10_review_rate_within_1_25x_pre_shift", review_within},
                         {"final_accuracy_at_least_lab_clean", final_above}};
  nlohmann::json out = {{"sites", std::move(sites)}};
  if (run.loop()) out["actions"] = run.actions();
  return out;
}

// Per site and condition: hours from its onset to the first promotion at the site of a model
// made after it.
nlohmann::json TimeToPromotion(const Scenario& s, const nlohmann::json& actions) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& site : s.sites) {
    std::vector<std::pair<std::string, double>> onsets;
    for (const auto& e : site.events) onsets.emplace_back(e.condition, e.from_day);
    if (s.redesign) onsets.emplace_back("redesign", s.redesign->day);
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& [what, from] : onsets) {
      nlohmann::json row = {{"shift", what}, {"onset_day", from}, {"hours", nullptr}};
      for (const auto& a : actions) {
        if (a.value("site", "") != site.name || !a.value("promoted", false)) continue;
        // A model made from images of before the onset was not made for the shift.
        if (a.value("made_day", a.value("day", 0.0)) <= from) continue;
        const double day = a.value("day", 0.0);
        row["hours"] = (day - from) * 24;
        row["kind"] = a.value("kind", "");
        row["challenger"] = a.value("challenger", "");
        break;
      }
      rows.push_back(std::move(row));
    }
    out[site.name] = std::move(rows);
  }
  return out;
}

}  // namespace

StatusOr<nlohmann::json> RunSimulation(const SimulationOptions& options) {
  SimulationOptions o = options;
  const Scenario& s = o.scenario;
  SEYE_ASSIGN_OR_RETURN(auto lab, Classifier::Load(o.lab_model));
  SEYE_RETURN_IF_ERROR(CheckNeverSawTheStream(o, *lab));
  SEYE_ASSIGN_OR_RETURN(const double lab_accuracy, CleanAccuracy(o, *lab));
  SEYE_ASSIGN_OR_RETURN(o.lab_model, LabModelAtScenarioRisk(o, *lab));
  if (o.log) o.log("building the stream");
  SEYE_ASSIGN_OR_RETURN(const Stream stream, sim::BuildStream(s, o.stream_data));
  std::vector<std::unique_ptr<PolicyRun>> runs;
  for (const auto& [name, loop] : {std::pair{"static", false}, std::pair{"loop", true}}) {
    SEYE_ASSIGN_OR_RETURN(auto run,
                          PolicyRun::Create(name, loop, o, stream, o.out / name / "store"));
    runs.push_back(std::move(run));
  }
  const int64_t round_ms = int64_t(s.loop.round_hours * 3600e3);
  const size_t rounds = size_t(s.days) * size_t(std::lround(24 / s.loop.round_hours));
  std::vector<std::vector<std::map<std::string, std::string>>> versions(runs.size());
  double capacity_due = 0;
  size_t begin = 0;
  for (size_t r = 0; r < rounds; ++r) {
    const int64_t until = stream.start_ms + int64_t(r + 1) * round_ms;
    size_t end = begin;
    while (end < stream.images.size() && stream.images[end].time_ms < until) ++end;
    capacity_due += s.reviewers.capacity_per_day * s.loop.round_hours / 24;
    const int capacity = static_cast<int>(std::floor(capacity_due));
    capacity_due -= capacity;
    for (size_t p = 0; p < runs.size(); ++p) {
      SEYE_RETURN_IF_ERROR(runs[p]->Round(begin, end, until, capacity, r + 1 == rounds));
      if ((until - stream.start_ms) % sim::kDayMs == 0) versions[p].push_back(runs[p]->Versions());
    }
    begin = end;
    if (o.on_progress) o.on_progress(r + 1, rounds);
  }
  nlohmann::json targets = nlohmann::json::object();
  nlohmann::json policies = nlohmann::json::object();
  std::map<std::string, double> normal_review;  // filled by the first (static) policy
  for (size_t p = 0; p < runs.size(); ++p)
    policies[runs[p]->name()] =
        PolicyJson(*runs[p], stream, s, versions[p], lab_accuracy, normal_review, targets);
  for (size_t p = 0; p < runs.size(); ++p) {
    SEYE_ASSIGN_OR_RETURN(const auto alerts, runs[p]->Alerts());
    policies[runs[p]->name()]["alerts"] = alerts;
    SEYE_ASSIGN_OR_RETURN(policies[runs[p]->name()]["reviewers"], runs[p]->ReviewerFigures());
  }
  policies["loop"]["time_to_promotion_hours"] =
      TimeToPromotion(s, policies["loop"].value("actions", nlohmann::json::array()));
  nlohmann::json scenario_json = nlohmann::json::array();
  for (const auto& site : s.sites) {
    nlohmann::json events = nlohmann::json::array();
    for (const auto& e : site.events)
      events.push_back({{"condition", e.condition},
                        {"description", e.description},
                        {"from_day", e.from_day},
                        {"to_day", e.to_day ? nlohmann::json(*e.to_day) : nullptr},
                        {"severity", {e.severity_start, e.severity_end}}});
    scenario_json.push_back({{"site", site.name}, {"camera", site.camera}, {"events", events}});
  }
  nlohmann::json stream_json = {{"images", stream.images.size()},
                                {"images_per_site_day", s.images_per_site_day},
                                {"available", stream.available},
                                {"drawn_from", stream.drawn_from},
                                {"start", s.start}};
  return nlohmann::json{{"lab_clean_accuracy", lab_accuracy},
                        {"lab_model", options.lab_model.string()},
                        {"served_lab_model", o.lab_model.string()},
                        {"alpha", s.alpha},
                        {"delta", s.delta},
                        {"days", s.days},
                        {"seed", s.seed},
                        {"sites", scenario_json},
                        {"redesign", s.redesign ? nlohmann::json{{"day", s.redesign->day},
                                                                 {"class", s.redesign->class_name},
                                                                 {"change", s.redesign->change}}
                                                : nlohmann::json(nullptr)},
                        {"reviewers",
                         {{"error_rate", s.reviewers.error_rate},
                          {"capacity_per_day", s.reviewers.capacity_per_day}}},
                        {"stream", stream_json},
                        {"policies", std::move(policies)},
                        {"targets", std::move(targets)}};
}

}  // namespace steadyeye
