#include <map>
#include <memory>

#include "common.h"
#include "steadyeye/core/file.h"
#include "steadyeye/core/time.h"
#include "steadyeye/data/dataset.h"
#include "steadyeye/store/store.h"

namespace steadyeye::cli {

namespace {

struct ExportArgs {
  std::string store;
  std::string out;
  bool reviewed = false;
  std::string site;
};

int RunExport(const ExportArgs& args) {
  if (!args.reviewed) {
    return Fail(InvalidArgumentError(
        "only reviewed captures carry a person's label to train on; pass --reviewed"));
  }
  auto store = OpenSqliteStore(args.store);
  if (!store.ok()) return Fail(store.status());
  CaptureQuery q;
  q.reviewed = true;
  q.limit = 1000;
  if (!args.site.empty()) q.site = args.site;
  size_t written = 0;
  std::map<std::string, size_t> per_class, not_a_class;
  while (true) {
    auto page = (*store)->List(q);
    if (!page.ok()) return Fail(page.status());
    if (page->empty()) break;
    for (const auto& c : *page) {
      // Unrecognisable images and items of no class are no training examples of any class.
      if (*c.reviewed_label == kAnswerBadImage || *c.reviewed_label == kAnswerNewItem) {
        ++not_a_class[*c.reviewed_label];
        continue;
      }
      auto bytes = (*store)->GetImage(c.id);
      if (!bytes.ok()) return Fail(bytes.status());
      const std::string ext = c.image_format == "png" ? ".png" : ".jpg";
      const auto path = std::filesystem::path(args.out) / FolderNameForClass(*c.reviewed_label) /
                        (std::to_string(c.id) + ext);
      if (Status st = WriteFileAtomic(path, *bytes, Durability::kProcessCrash); !st.ok())
        return Fail(st);
      ++written;
      ++per_class[*c.reviewed_label];
    }
    q.after_id = page->back().id;
  }
  std::printf("exported %zu reviewed captures to %s (one folder per class", written,
              args.out.c_str());
  for (const auto& [label, n] : per_class) std::printf("; %s %zu", label.c_str(), n);
  std::printf(")\n");
  for (const auto& [answer, n] : not_a_class)
    std::printf("left out %zu captures answered %s\n", n, answer.c_str());
  return 0;
}

struct PruneArgs {
  std::string store;
  double max_age_days = 0;
  double max_mb = 0;
};

int RunPrune(const PruneArgs& args) {
  if (args.max_age_days <= 0 && args.max_mb <= 0) {
    return Fail(InvalidArgumentError("say what to keep: --max-age-days and/or --max-mb"));
  }
  auto store = OpenSqliteStore(args.store);
  if (!store.ok()) return Fail(store.status());
  auto report = (*store)->ApplyRetention(RetentionFromLimits(args.max_age_days, args.max_mb),
                                         UnixMillisNow());
  if (!report.ok()) return Fail(report.status());
  std::printf(
      "removed %lld captures and %lld images (%.1f MB); reviewed captures are always kept\n",
      static_cast<long long>(report->captures_removed),
      static_cast<long long>(report->images_removed), double(report->bytes_freed) / 1e6);
  return 0;
}

struct LabelArgs {
  std::string store;
  int64_t id = 0;
  std::string label;
  std::string reviewer = "cli";
};

int RunLabel(const LabelArgs& args) {
  auto store = OpenSqliteStore(args.store);
  if (!store.ok()) return Fail(store.status());
  if (Status st = (*store)->SetReviewedLabel(args.id, args.label, args.reviewer); !st.ok())
    return Fail(st);
  std::printf("capture %lld labelled %s\n", static_cast<long long>(args.id), args.label.c_str());
  return 0;
}

}  // namespace

void AddCapturesCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("captures", "Work with a capture store");
  cmd->require_subcommand(1);

  auto e = std::make_shared<ExportArgs>();
  auto* exp =
      cmd->add_subcommand("export", "Write reviewed captures as an image folder to train on");
  exp->add_option("--store", e->store, "Capture store folder")->required();
  exp->add_option("--out", e->out, "Output folder (one sub-folder per reviewed class)")->required();
  exp->add_flag("--reviewed", e->reviewed, "Export captures with a person's label (required)");
  exp->add_option("--site", e->site, "Only this site");
  exp->callback([e, &exit_code] { exit_code = RunExport(*e); });

  auto p = std::make_shared<PruneArgs>();
  auto* prune = cmd->add_subcommand(
      "prune",
      "Apply retention now: remove captures older than an age, then the oldest until under a size "
      "(review and quality captures before audit ones; reviewed captures are kept)");
  prune->add_option("--store", p->store, "Capture store folder")->required();
  prune->add_option("--max-age-days", p->max_age_days,
                    "Remove captures taken longer ago than this");
  prune->add_option("--max-mb", p->max_mb, "Keep the stored images under this many megabytes");
  prune->callback([p, &exit_code] { exit_code = RunPrune(*p); });

  auto l = std::make_shared<LabelArgs>();
  auto* lab = cmd->add_subcommand("label", "Record a person's label for a capture");
  lab->add_option("--store", l->store, "Capture store folder")->required();
  lab->add_option("--id", l->id, "Capture id")->required();
  lab->add_option("--label", l->label, "The class")->required();
  lab->add_option("--reviewer", l->reviewer, "Who labelled it")->capture_default_str();
  lab->callback([l, &exit_code] { exit_code = RunLabel(*l); });
}

}  // namespace steadyeye::cli
