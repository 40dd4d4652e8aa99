#include "stream.h"

#include <algorithm>
#include <random>

#include "steadyeye/core/hash.h"
#include "steadyeye/core/time.h"
#include "steadyeye/image/codec.h"
#include "steadyeye/shift/shift.h"

namespace steadyeye::sim {

namespace {

struct Source {
  const Dataset* data;
  size_t index;
};

// A lens condition stays where it is: the same seed for every image of a site's event puts the
// dust specks, the glare's hotspot and the bump's offset in the same place on every frame.
uint64_t EventSeed(uint64_t scenario_seed, size_t site, size_t event) {
  return SplitMix64Finalize(scenario_seed ^ (site << 32) ^ (event + 1));
}

StatusOr<StreamImage> MakeImage(const Scenario& s, const Source& src, size_t site, int64_t t_ms,
                                int64_t start_ms) {
  StreamImage out;
  out.site = static_cast<int>(site);
  out.time_ms = t_ms;
  const double day = 1 + double(t_ms - start_ms) / kDayMs;
  const double hour = (day - std::floor(day)) * 24;
  out.day = static_cast<int>(std::floor(day));
  out.label = src.data->labels[src.index];
  Image image = src.data->image(src.index);
  if (s.redesign && day >= s.redesign->day &&
      src.data->class_names[out.label] == s.redesign->class_name) {
    image = s.redesign->Apply(image);
    out.active.push_back("redesign");
  }
  const auto& events = s.sites[site].events;
  for (size_t e = 0; e < events.size(); ++e) {
    const auto severity = events[e].SeverityAt(day, hour);
    if (!severity) continue;
    SEYE_ASSIGN_OR_RETURN(
        image, ApplyCondition(image, events[e].condition, *severity, EventSeed(s.seed, site, e)));
    out.active.push_back(events[e].condition + "@" + std::to_string(*severity));
  }
  SEYE_ASSIGN_OR_RETURN(out.png, EncodePng(image));
  return out;
}

}  // namespace

StatusOr<Stream> BuildStream(const Scenario& s, const std::vector<DataRef>& refs) {
  Stream stream;
  std::vector<Dataset> data;
  data.reserve(refs.size());
  std::vector<Source> pool;
  for (const auto& ref : refs) {
    SEYE_ASSIGN_OR_RETURN(Dataset d, LoadDataset(ref, {}));
    if (!data.empty() && (d.class_names != data[0].class_names || d.channels != data[0].channels))
      return InvalidArgumentError(ref.ToString() + " has other classes or channels than " +
                                  refs[0].ToString());
    data.push_back(std::move(d));
  }
  for (const auto& d : data)
    for (size_t i = 0; i < d.size(); ++i) pool.push_back({&d, i});
  if (data.empty()) return InvalidArgumentError("the stream needs data");
  stream.class_names = data[0].class_names;
  stream.available = pool.size();
  const size_t needed = s.sites.size() * size_t(s.days) * size_t(s.images_per_site_day);
  if (needed > pool.size())
    return InvalidArgumentError(
        "the scenario needs " + std::to_string(needed) + " images (" +
        std::to_string(s.sites.size()) + " sites x " + std::to_string(s.days) + " days x " +
        std::to_string(s.images_per_site_day) + ") and the stream's data hold " +
        std::to_string(pool.size()) + ": every image is shown once");
  if (s.redesign && std::find(stream.class_names.begin(), stream.class_names.end(),
                              s.redesign->class_name) == stream.class_names.end())
    return InvalidArgumentError("redesign.class '" + s.redesign->class_name +
                                "' is not a class of the data");
  std::mt19937_64 rng(s.seed);
  std::shuffle(pool.begin(), pool.end(), rng);
  SEYE_ASSIGN_OR_RETURN(stream.start_ms, ParseTimestamp(s.start));
  size_t next = 0;
  std::uniform_int_distribution<int64_t> within_day(0, kDayMs - 1);
  for (size_t site = 0; site < s.sites.size(); ++site) {
    for (int day = 1; day <= s.days; ++day) {
      std::vector<int64_t> times(size_t(s.images_per_site_day));
      for (auto& t : times) t = stream.start_ms + (day - 1) * kDayMs + within_day(rng);
      std::sort(times.begin(), times.end());
      for (const int64_t t : times) {
        const Source& src = pool[next++];
        SEYE_ASSIGN_OR_RETURN(auto image, MakeImage(s, src, site, t, stream.start_ms));
        stream.images.push_back(std::move(image));
        ++stream.drawn_from[refs[size_t(src.data - data.data())].ToString()];
      }
    }
  }
  std::stable_sort(
      stream.images.begin(), stream.images.end(),
      [](const StreamImage& a, const StreamImage& b) { return a.time_ms < b.time_ms; });
  return stream;
}

}  // namespace steadyeye::sim
