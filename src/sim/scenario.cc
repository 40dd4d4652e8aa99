#include "steadyeye/sim/scenario.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>

#include "steadyeye/core/file.h"
#include "steadyeye/core/name.h"
#include "steadyeye/core/time.h"
#include "steadyeye/shift/shift.h"

namespace steadyeye {

namespace {

// yaml-cpp reports errors as exceptions; the parser below turns each into a value naming the
// field, and anything else yaml-cpp throws is caught where the text is parsed.
struct FieldError {
  std::string message;
};

template <typename T>
T Get(const YAML::Node& node, const char* key, T fallback, const std::string& where) {
  const YAML::Node value = node[key];
  if (!value) return fallback;
  try {
    return value.as<T>();
  } catch (const YAML::Exception&) {
    throw FieldError{where + "." + key + " has the wrong type"};
  }
}

void CheckKeys(const YAML::Node& node, std::initializer_list<const char*> known,
               const std::string& where) {
  if (!node.IsMap()) throw FieldError{where + " must be a mapping"};
  for (const auto& kv : node) {
    const auto key = kv.first.as<std::string>();
    if (std::find_if(known.begin(), known.end(), [&](const char* k) { return key == k; }) ==
        known.end()) {
      std::string names;
      for (const char* k : known) names += std::string(names.empty() ? "" : ", ") + k;
      throw FieldError{where + " has an unknown field '" + key + "' (known: " + names + ")"};
    }
  }
}

SiteEvent ParseEvent(const YAML::Node& node, const std::string& where) {
  CheckKeys(node, {"condition", "severity", "from_day", "to_day", "hours", "description"}, where);
  SiteEvent e;
  e.condition = Get<std::string>(node, "condition", "", where);
  if (!FindCondition(e.condition).ok())
    throw FieldError{where + ".condition: " + FindCondition(e.condition).status().message()};
  const YAML::Node severity = node["severity"];
  if (severity && severity.IsSequence()) {
    if (severity.size() != 2) throw FieldError{where + ".severity: give one or [start, end]"};
    e.severity_start = severity[0].as<int>();
    e.severity_end = severity[1].as<int>();
  } else {
    e.severity_start = e.severity_end = Get<int>(node, "severity", 3, where);
  }
  for (int s : {e.severity_start, e.severity_end}) {
    if (s < kMinSeverity || s > kMaxSeverity) throw FieldError{where + ".severity must be 1..5"};
  }
  e.from_day = Get<double>(node, "from_day", 1, where);
  if (node["to_day"]) e.to_day = Get<double>(node, "to_day", 0, where);
  if (e.to_day && *e.to_day <= e.from_day) throw FieldError{where + ".to_day must follow from_day"};
  if (const YAML::Node hours = node["hours"]) {
    if (!hours.IsSequence() || hours.size() != 2) throw FieldError{where + ".hours: [from, to]"};
    e.hours = {hours[0].as<int>(), hours[1].as<int>()};
    for (int h : {e.hours->first, e.hours->second}) {
      if (h < 0 || h > 24) throw FieldError{where + ".hours must be within 0..24"};
    }
  }
  e.description = Get<std::string>(node, "description", e.condition, where);
  return e;
}

Scenario ParseRoot(const YAML::Node& root) {
  CheckKeys(root,
            {"seed", "days", "images_per_site_day", "start", "audit_rate", "alpha", "delta",
             "drift_reference_frames", "reviewers", "loop", "redesign", "sites"},
            "scenario");
  Scenario s;
  s.seed = Get<uint64_t>(root, "seed", s.seed, "scenario");
  s.days = Get<int>(root, "days", s.days, "scenario");
  s.images_per_site_day = Get<int>(root, "images_per_site_day", s.images_per_site_day, "scenario");
  s.start = Get<std::string>(root, "start", s.start, "scenario");
  s.audit_rate = Get<double>(root, "audit_rate", s.audit_rate, "scenario");
  s.alpha = Get<double>(root, "alpha", s.alpha, "scenario");
  s.delta = Get<double>(root, "delta", s.delta, "scenario");
  s.drift_reference_frames =
      Get<size_t>(root, "drift_reference_frames", s.drift_reference_frames, "scenario");
  if (s.days < 1 || s.days > 366) throw FieldError{"scenario.days must be 1..366"};
  if (s.images_per_site_day < 1) throw FieldError{"scenario.images_per_site_day must be >= 1"};
  if (!(s.audit_rate >= 0 && s.audit_rate <= 1)) throw FieldError{"scenario.audit_rate: 0..1"};
  if (!(s.alpha > 0 && s.alpha < 1 && s.delta > 0 && s.delta < 1))
    throw FieldError{"scenario.alpha and scenario.delta must be in (0, 1)"};
  if (!ParseTimestamp(s.start).ok()) throw FieldError{"scenario.start is not a UTC timestamp"};
  if (const YAML::Node r = root["reviewers"]) {
    CheckKeys(r, {"error_rate", "capacity_per_day"}, "reviewers");
    s.reviewers.error_rate = Get<double>(r, "error_rate", s.reviewers.error_rate, "reviewers");
    s.reviewers.capacity_per_day =
        Get<int>(r, "capacity_per_day", s.reviewers.capacity_per_day, "reviewers");
    if (!(s.reviewers.error_rate >= 0 && s.reviewers.error_rate < 1))
      throw FieldError{"reviewers.error_rate must be in [0, 1)"};
    if (s.reviewers.capacity_per_day < 0) throw FieldError{"reviewers.capacity_per_day < 0"};
  }
  if (const YAML::Node l = root["loop"]) {
    CheckKeys(l,
              {"round_hours", "retrain_every", "margin", "lab_margin", "max_wait_days",
               "min_shadow_images", "lab_replay", "epochs", "drift_action"},
              "loop");
    s.loop.round_hours = Get<double>(l, "round_hours", s.loop.round_hours, "loop");
    s.loop.retrain_every = Get<size_t>(l, "retrain_every", s.loop.retrain_every, "loop");
    s.loop.margin = Get<double>(l, "margin", s.loop.margin, "loop");
    s.loop.lab_margin = Get<double>(l, "lab_margin", s.loop.lab_margin, "loop");
    s.loop.max_wait_days = Get<double>(l, "max_wait_days", s.loop.max_wait_days, "loop");
    if (!(s.loop.margin >= 0 && s.loop.margin < 0.5 && s.loop.lab_margin >= 0 &&
          s.loop.lab_margin < 0.5))
      throw FieldError{"loop.margin and loop.lab_margin must be in [0, 0.5)"};
    if (!(s.loop.max_wait_days > 0)) throw FieldError{"loop.max_wait_days must be > 0"};
    s.loop.min_shadow_images =
        Get<size_t>(l, "min_shadow_images", s.loop.min_shadow_images, "loop");
    s.loop.lab_replay = Get<size_t>(l, "lab_replay", s.loop.lab_replay, "loop");
    s.loop.epochs = Get<int>(l, "epochs", s.loop.epochs, "loop");
    const auto action = ParseDriftAction(
        Get<std::string>(l, "drift_action", DriftActionName(s.loop.drift_action), "loop"));
    if (!action.ok()) throw FieldError{"loop.drift_action: " + action.status().message()};
    s.loop.drift_action = *action;
    if (!(s.loop.round_hours > 0 && s.loop.round_hours <= 24 &&
          std::fmod(24.0, s.loop.round_hours) == 0))
      throw FieldError{"loop.round_hours must divide 24"};
    if (s.loop.epochs < 1) throw FieldError{"loop.epochs must be >= 1"};
  }
  if (const YAML::Node r = root["redesign"]) {
    CheckKeys(r, {"day", "class", "change"}, "redesign");
    Redesign d;
    d.day = Get<double>(r, "day", d.day, "redesign");
    d.class_name = Get<std::string>(r, "class", "", "redesign");
    d.change = Get<std::string>(r, "change", d.change, "redesign");
    if (d.class_name.empty()) throw FieldError{"redesign.class is required"};
    if (d.change != "rotate90") throw FieldError{"redesign.change: only rotate90 is known"};
    s.redesign = d;
  }
  const YAML::Node sites = root["sites"];
  if (!sites || !sites.IsSequence() || sites.size() == 0)
    throw FieldError{"scenario.sites must list at least one site"};
  for (size_t i = 0; i < sites.size(); ++i) {
    const std::string where = "sites[" + std::to_string(i) + "]";
    CheckKeys(sites[i], {"name", "camera", "events"}, where);
    SiteScenario site;
    site.name = Get<std::string>(sites[i], "name", "", where);
    site.camera = Get<std::string>(sites[i], "camera", site.camera, where);
    for (const auto& name : {site.name, site.camera}) {
      if (const Status st = ValidateName(name, (where + " name").c_str()); !st.ok())
        throw FieldError{st.message()};
    }
    if (const YAML::Node events = sites[i]["events"]) {
      if (!events.IsSequence()) throw FieldError{where + ".events must be a list"};
      for (size_t j = 0; j < events.size(); ++j)
        site.events.push_back(ParseEvent(events[j], where + ".events[" + std::to_string(j) + "]"));
    }
    s.sites.push_back(std::move(site));
  }
  return s;
}

}  // namespace

std::optional<int> SiteEvent::SeverityAt(double day, double hour) const {
  if (day < from_day || (to_day && day >= *to_day)) return std::nullopt;
  if (hours) {
    const auto [from, to] = *hours;
    const bool inside = from <= to ? (hour >= from && hour < to) : (hour >= from || hour < to);
    if (!inside) return std::nullopt;
  }
  if (severity_start == severity_end || !to_day) return severity_start;
  const double t = (day - from_day) / (*to_day - from_day);
  return static_cast<int>(std::lround(severity_start + t * (severity_end - severity_start)));
}

Image Redesign::Apply(const Image& image) const {
  // A quarter turn clockwise: what was the left column becomes the top row.
  Image out(image.height, image.width, image.channels);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      for (int c = 0; c < image.channels; ++c)
        out.at(image.height - 1 - y, x, c) = image.at(x, y, c);
  return out;
}

Scenario Scenario::Scaled(int images) const {
  Scenario s = *this;
  const double f = double(images) / images_per_site_day;
  s.images_per_site_day = images;
  s.reviewers.capacity_per_day = std::max(1, int(std::lround(reviewers.capacity_per_day * f)));
  s.loop.retrain_every = std::max<size_t>(10, size_t(std::lround(loop.retrain_every * f)));
  // Fewer site images per retraining: a smaller replay keeps the site's share of them.
  s.loop.lab_replay = std::max<size_t>(500, size_t(std::lround(loop.lab_replay * f)));
  s.loop.min_shadow_images = size_t(std::lround(double(loop.min_shadow_images) * f));
  s.drift_reference_frames = std::max<size_t>(40, size_t(std::lround(drift_reference_frames * f)));
  return s;
}

StatusOr<Scenario> ParseScenario(const std::string& yaml_text) {
  try {
    return ParseRoot(YAML::Load(yaml_text));
  } catch (const FieldError& e) {
    return InvalidArgumentError("scenario: " + e.message);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(std::string("scenario is not valid YAML: ") + e.what());
  }
}

StatusOr<Scenario> LoadScenario(const std::filesystem::path& file) {
  SEYE_ASSIGN_OR_RETURN(const auto bytes, ReadFileBytes(file, size_t(1) << 20));
  auto parsed = ParseScenario(std::string(bytes.begin(), bytes.end()));
  if (!parsed.ok())
    return Status(parsed.status().code(), file.string() + ": " + parsed.status().message());
  return parsed;
}

}  // namespace steadyeye
