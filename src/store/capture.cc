#include "steadyeye/core/time.h"
#include "steadyeye/store/capture_store.h"

namespace steadyeye {

const char* KeptBecauseName(KeptBecause k) {
  switch (k) {
    case KeptBecause::kReview:
      return "review";
    case KeptBecause::kQuality:
      return "quality";
    case KeptBecause::kAudit:
      return "audit";
  }
  return "review";
}

nlohmann::json Capture::ToJson() const {
  nlohmann::json j{
      {"id", id},
      {"time", FormatUnixMillis(time_ms)},
      {"received", FormatUnixMillis(received_ms)},
      {"site", site},
      {"camera", camera},
      {"model_version", model_version},
      {"label", label_name},
      {"label_index", label},
      {"confidence", confidence},
      {"probabilities", probabilities},
      {"decision", decision},
      {"reasons", reasons},
      {"kept_because", KeptBecauseName(kept_because)},
      {"inclusion_probability", inclusion_probability},
      {"quality", quality},
      {"image",
       {{"sha256", image_sha256},
        {"bytes", image_bytes},
        {"format", image_format},
        {"width", width},
        {"height", height}}},
      {"review", nullptr},
  };
  if (reviewed_label) {
    j["review"] = {{"label", *reviewed_label},
                   {"time", FormatUnixMillis(reviewed_ms)},
                   {"reviewer", reviewer}};
  }
  return j;
}

}  // namespace steadyeye
