// steadyeye models register: copies a bundle into the registry after loading it, so that a
// corrupt or foreign file is refused at the door rather than at promotion.
#include <memory>

#include "common.h"
#include "models_common.h"
#include "steadyeye/core/time.h"

namespace steadyeye::cli {

namespace {

int RunRegister(Store& store, const ModelsArgs& a) {
  auto model = Classifier::Load(a.model);
  if (!model.ok()) return Fail(model.status());
  auto record = store.RegisterModel(
      a.model, (*model)->card().Version(), (*model)->card().ToJson(), RegistryActor(),
      a.reason.empty() ? "registered by hand" : a.reason, UnixMillisNow());
  if (!record.ok()) return Fail(record.status());
  std::printf("%s\n", record->id.c_str());
  if (!a.alias.empty() || !a.site.empty()) {
    return PrintAliasChange(store.SetAlias(TargetAlias(a), record->id, RegistryActor(),
                                           a.reason.empty() ? "registered" : a.reason,
                                           UnixMillisNow()));
  }
  return 0;
}

}  // namespace

void AddModelsRegisterSubcommand(CLI::App& models, int& exit_code) {
  auto a = std::make_shared<ModelsArgs>();
  auto* reg = models.add_subcommand("register", "Copy a model bundle into the registry");
  AddStoreOption(*reg, *a);
  reg->add_option("model", a->model, "Model bundle (.seye)")->required();
  AddAliasOptions(*reg, *a);
  AddReasonOption(*reg, *a);
  reg->callback([a, &exit_code] { exit_code = WithStore(*a, RunRegister); });
}

}  // namespace steadyeye::cli
