// Captures and stores for the store tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "steadyeye/store/store.h"

namespace steadyeye {

inline std::vector<uint8_t> Bytes(const std::string& text) { return {text.begin(), text.end()}; }

inline NewCapture MakeCapture(const std::string& site, int64_t time_ms, const std::string& image,
                              KeptBecause why = KeptBecause::kReview) {
  NewCapture n;
  Capture& c = n.capture;
  c.time_ms = time_ms;
  c.received_ms = time_ms + 5;
  c.site = site;
  c.camera = "cam-1";
  c.model_version = "abc";
  c.label = 3;
  c.label_name = "Dress";
  c.confidence = 0.61;
  c.probabilities = {0.1f, 0.29f, 0.61f};
  c.decision = why == KeptBecause::kAudit ? "auto" : "review";
  c.reasons = {"low_confidence", "quality:blur"};
  c.kept_because = why;
  c.inclusion_probability = why == KeptBecause::kAudit ? 0.02 : 1.0;
  c.quality = {{"verdict", "ok"}};
  c.image_format = "png";
  c.width = 28;
  c.height = 28;
  n.image = Bytes(image);
  return n;
}

inline std::unique_ptr<Store> Open(const std::filesystem::path& dir) {
  auto store = OpenSqliteStore(dir);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

}  // namespace steadyeye
