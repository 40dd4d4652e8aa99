// Small subcommands: export-images, model-card, import-torchscript.
#include <fstream>
#include <memory>
#include <sstream>

#include "common.h"

namespace steadyeye::cli {

namespace {

struct ExportArgs {
  std::string data = "fashion-mnist:test";
  std::string out;
  size_t limit = 0;
};

int RunExport(const ExportArgs& args) {
  auto ref = ResolveDataRef(args.data, DataPurpose::kEvaluation);
  if (!ref.ok()) return Fail(ref.status());
  LoadOptions options;
  options.limit = args.limit;
  auto data = LoadWithProgress(*ref, std::move(options));
  if (!data.ok()) return Fail(data.status());
  auto written = ExportImages(*data, args.out);
  if (!written.ok()) return Fail(written.status());
  std::printf("wrote %zu PNG files to %s\n", *written, args.out.c_str());
  return 0;
}

int RunModelCard(const std::string& path) {
  auto model = Classifier::Load(path);
  if (!model.ok()) return Fail(model.status());
  auto card = (*model)->card().ToJson();
  card["version"] = (*model)->card().Version();  // derived, as served and registered
  std::printf("%s\n", card.dump(2).c_str());
  return 0;
}

struct ImportArgs {
  std::string script;
  std::string classes;
  std::string input = "1x28x28";
  std::vector<float> mean, std;
  std::string out;
};

// "--classes a,b,c" or "--classes @file" with one class name per line.
StatusOr<std::vector<std::string>> ParseClasses(const std::string& text) {
  std::vector<std::string> names;
  std::string item;
  if (text.starts_with("@")) {
    std::ifstream in(text.substr(1));
    if (!in) return NotFoundError("cannot read class list " + text.substr(1));
    while (std::getline(in, item)) {
      if (!item.empty()) names.push_back(item);
    }
  } else {
    std::stringstream in(text);
    while (std::getline(in, item, ',')) names.push_back(item);
  }
  return names;
}

int RunImport(const ImportArgs& args) {
  auto spec = ParseInputShape(args.input);
  if (!spec.ok()) return Fail(spec.status());
  if (!args.mean.empty()) spec->mean = args.mean;
  if (!args.std.empty()) spec->std = args.std;
  auto classes = ParseClasses(args.classes);
  if (!classes.ok()) return Fail(classes.status());
  ModelCard card;
  card.class_names = *classes;
  card.input = *spec;
  card.training_data = {{"source", "imported TorchScript " + args.script}};
  auto model = ImportTorchScript(args.script, card);
  if (!model.ok()) return Fail(model.status());
  if (Status st = (*model)->Save(args.out); !st.ok()) return Fail(st);
  std::printf("imported %s as %s (id %s, %zu classes, input %s)\n", args.script.c_str(),
              args.out.c_str(), (*model)->card().id.c_str(), (*model)->num_classes(),
              spec->ShapeString().c_str());
  return 0;
}

}  // namespace

void AddExportImagesCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand(
      "export-images", "Write a dataset as an image folder (PNG, one sub-folder per class)");
  cmd->add_option("--data", args->data, "fashion-mnist[:test|:train] or an image folder")
      ->capture_default_str();
  cmd->add_option("--out", args->out, "Output folder")->required();
  cmd->add_option("--limit", args->limit,
                  "At most this many images, spread over classes (0 = all)");
  cmd->callback([args, &exit_code] { exit_code = RunExport(*args); });
}

void AddModelCardCommand(CLI::App& app, int& exit_code) {
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("model-card", "Print a model bundle's card (JSON)");
  cmd->add_option("model", *path, "Model bundle (.seye)")->required();
  cmd->callback([path, &exit_code] { exit_code = RunModelCard(*path); });
}

void AddImportTorchScriptCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ImportArgs>();
  auto* cmd = app.add_subcommand(
      "import-torchscript", "Wrap a TorchScript classifier (torch.jit.save) in a model bundle");
  cmd->add_option("--model", args->script, "TorchScript file (.pt)")->required();
  cmd->add_option("--classes", args->classes,
                  "Class names: a,b,c or @file (one per line), in output order")
      ->required();
  cmd->add_option("--input", args->input, "Input shape CxHxW the model expects")
      ->capture_default_str();
  cmd->add_option("--mean", args->mean, "Per-channel mean of pixel/255 (default 0.5)")
      ->delimiter(',');
  cmd->add_option("--std", args->std, "Per-channel std of pixel/255 (default 0.25)")
      ->delimiter(',');
  cmd->add_option("--out", args->out, "Where to write the bundle (.seye)")->required();
  cmd->callback([args, &exit_code] { exit_code = RunImport(*args); });
}

}  // namespace steadyeye::cli
