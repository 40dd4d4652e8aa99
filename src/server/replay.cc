#include "steadyeye/server/replay.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace steadyeye {

namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxErrorsKept = 10;
constexpr int kMaxRetries = 60;  // of a request refused with 429, one second apart

httplib::Client MakeClient(const std::string& server, const std::string& token) {
  httplib::Client c(server);
  c.set_read_timeout(60, 0);
  c.set_connection_timeout(10, 0);
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);  // else every request waits for a delayed ACK (40 ms)
  if (!token.empty()) c.set_bearer_token_auth(token);
  return c;
}

std::string Describe(const httplib::Result& r) {
  if (!r) return "no answer (" + httplib::to_string(r.error()) + ")";
  const auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (!j.is_discarded() && j.contains("error")) {
    return "HTTP " + std::to_string(r->status) + ": " + j["error"].value("message", "");
  }
  return "HTTP " + std::to_string(r->status);
}

// What the sender and the reviewer share.
class Shared {
 public:
  Shared(size_t total, size_t window) : total_(total), window_(std::max<size_t>(1, window)) {
    for (size_t first = 0; first < total; first += window_) {
      s_.windows.push_back({.first = int64_t(first)});
    }
  }

  void Record(size_t index, const ReplayImage& image, const nlohmann::json& answer) {
    std::lock_guard lock(mu_);
    ++s_.answered;
    const std::string decision = answer.value("decision", "");
    const bool correct = answer.value("label", "") == image.true_label;
    ReplayWindow& w = s_.windows[index / window_];
    ++w.images;
    w.model_correct += correct ? 1 : 0;
    if (decision == "auto") {
      ++s_.auto_decisions;
      ++w.auto_decisions;
      if (correct) ++s_.auto_correct;
      if (!correct) ++w.auto_errors;
    } else {
      ++s_.review_decisions;
      ++w.review_decisions;
    }
    const auto kept_json = answer.value("kept_because", nlohmann::json());
    const std::string kept = kept_json.is_string() ? kept_json.get<std::string>() : "";
    if (kept == "review") ++s_.kept_review;
    if (kept == "quality") ++s_.kept_quality;
    if (kept == "audit") ++s_.kept_audit;
    const auto id = answer.value("capture_id", nlohmann::json());
    if (id.is_number_integer()) truth_[id.get<int64_t>()] = image.true_label;
  }
  void Fail(const std::string& what) {
    std::lock_guard lock(mu_);
    ++s_.failed;
    if (s_.errors.size() < kMaxErrorsKept) s_.errors.push_back(what);
  }
  std::optional<std::string> TrueLabel(int64_t capture_id) {
    std::lock_guard lock(mu_);
    auto it = truth_.find(capture_id);
    return it == truth_.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  void Reviewed(bool wrong, bool skipped) {
    std::lock_guard lock(mu_);
    if (skipped) {
      ++s_.reviews_skipped;
    } else {
      ++s_.reviews_answered;
      s_.reviews_wrong += wrong ? 1 : 0;
    }
  }
  size_t Done() {
    std::lock_guard lock(mu_);
    return size_t(s_.answered + s_.failed);
  }
  ReplaySummary Summary() {
    std::lock_guard lock(mu_);
    return s_;
  }
  size_t total() const { return total_; }
  std::atomic<size_t> next{0};
  std::atomic<bool> sending_done{false};

 private:
  const size_t total_, window_;
  std::mutex mu_;
  ReplaySummary s_;
  std::map<int64_t, std::string> truth_;
};

void SendLoop(const std::vector<ReplayImage>& images, const ReplayOptions& o, Shared& shared,
              Clock::time_point start, const std::function<void(size_t, size_t)>& on_progress) {
  auto client = MakeClient(o.server, o.token);
  const std::string path = "/v1/predict?site=" + httplib::detail::encode_query_param(o.site) +
                           "&camera=" + httplib::detail::encode_query_param(o.camera);
  for (size_t i = shared.next++; i < images.size(); i = shared.next++) {
    if (o.rate > 0) {
      std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(double(i) / o.rate)));
    }
    const auto& image = images[i];
    const std::string body(image.bytes.begin(), image.bytes.end());
    const std::string url =
        o.ts_start_ms ? path + "&ts=" + std::to_string(*o.ts_start_ms + int64_t(i) * o.ts_step_ms)
                      : path;
    httplib::Result r = client.Post(url.c_str(), body, "application/octet-stream");
    // A full queue says when to come back; a replay waits rather than dropping the image.
    for (int retry = 0; r && r->status == 429 && retry < kMaxRetries; ++retry) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      r = client.Post(url.c_str(), body, "application/octet-stream");
    }
    const auto answer =
        r && r->status == 200 ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
    if (answer.is_object()) {
      shared.Record(i, image, answer);
    } else {
      shared.Fail("image " + std::to_string(i) + ": " + Describe(r));
    }
    if (on_progress) on_progress(shared.Done(), shared.total());
  }
}

// Answers review tasks of the replayed images with their true labels (some deliberately wrong),
// paced to the capacity; skips tasks of images it did not send.
void ReviewLoop(const ReplayOptions& o, Shared& shared) {
  auto client = MakeClient(o.server, o.reviewer_token.empty() ? o.token : o.reviewer_token);
  std::mt19937_64 rng(o.seed);
  std::bernoulli_distribution mistake(o.oracle_error_rate);
  const auto start = Clock::now();
  int64_t answers = 0;
  int empty_after_done = 0;
  while (true) {
    auto r = client.Get("/v1/review/next");
    const auto next =
        r && r->status == 200 ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
    if (!next.is_object()) {
      shared.Fail("review: " + Describe(r));
      return;
    }
    if (next["task"].is_null()) {
      if (shared.sending_done && ++empty_after_done > 1) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    const auto& task = next["task"];
    const auto truth = shared.TrueLabel(task.value("capture_id", int64_t(0)));
    if (!truth && !shared.sending_done) {
      // Its predict answer may still be on the way: the lease keeps the task for us.
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    if (o.oracle_capacity > 0) {
      std::this_thread::sleep_until(
          start + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(3600.0 * double(answers) / o.oracle_capacity)));
    }
    std::string answer = truth.value_or("skip");
    const bool wrong = truth && o.class_names.size() > 1 && mistake(rng);
    if (wrong) {
      std::uniform_int_distribution<size_t> pick(0, o.class_names.size() - 1);
      do answer = o.class_names[pick(rng)];
      while (answer == *truth);
    }
    const std::string path = "/v1/review/" + std::to_string(task["id"].get<int64_t>()) + "/answer";
    auto posted =
        client.Post(path.c_str(), nlohmann::json{{"answer", answer}}.dump(), "application/json");
    if (!posted || posted->status != 200) {
      shared.Fail("review answer: " + Describe(posted));
      return;
    }
    ++answers;
    shared.Reviewed(wrong, !truth);
  }
}

}  // namespace

nlohmann::json ReplayWindow::ToJson() const {
  return {{"first", first},
          {"images", images},
          {"auto", auto_decisions},
          {"auto_errors", auto_errors},
          {"review", review_decisions},
          {"model_correct", model_correct}};
}

nlohmann::json ReplaySummary::ToJson() const {
  nlohmann::json window_list = nlohmann::json::array();
  for (const auto& w : windows) window_list.push_back(w.ToJson());
  const auto acc = auto_accuracy();
  return {{"sent", sent},
          {"answered", answered},
          {"failed", failed},
          {"errors", errors},
          {"decisions", {{"auto", auto_decisions}, {"review", review_decisions}}},
          {"auto_correct", auto_correct},
          {"auto_accuracy_true", acc ? nlohmann::json(*acc) : nlohmann::json()},
          {"kept", {{"review", kept_review}, {"quality", kept_quality}, {"audit", kept_audit}}},
          {"oracle",
           {{"answered", reviews_answered},
            {"wrong_on_purpose", reviews_wrong},
            {"skipped", reviews_skipped}}},
          {"seconds", seconds},
          {"windows", window_list},
          {"alerts", alerts},
          {"alerts_error", alerts_error.empty() ? nlohmann::json() : nlohmann::json(alerts_error)}};
}

StatusOr<ReplaySummary> Replay(const std::vector<ReplayImage>& images, const ReplayOptions& options,
                               const std::function<void(size_t, size_t)>& on_progress) {
  if (options.site.empty()) return InvalidArgumentError("replay needs a --site");
  {
    httplib::Client probe(options.server);
    if (!probe.is_valid())
      return InvalidArgumentError("'" + options.server +
                                  "' is not a server URL (http://host:port)");
    probe.set_connection_timeout(5, 0);
    auto health = probe.Get("/healthz");
    if (!health || health->status != 200)
      return UnavailableError("cannot reach " + options.server + ": " + Describe(health));
  }
  Shared shared(images.size(), options.window);
  const auto start = Clock::now();
  std::thread reviewer;
  if (options.oracle_reviewer) reviewer = std::thread([&] { ReviewLoop(options, shared); });
  std::vector<std::thread> senders;
  for (int t = 0; t < std::max(1, options.concurrency); ++t)
    senders.emplace_back([&] { SendLoop(images, options, shared, start, on_progress); });
  for (auto& t : senders) t.join();
  shared.sending_done = true;
  if (reviewer.joinable()) reviewer.join();
  ReplaySummary s = shared.Summary();
  s.sent = int64_t(images.size());
  s.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  auto c = MakeClient(options.server,
                      options.operator_token.empty() ? options.token : options.operator_token);
  auto r = c.Get("/v1/alerts?site=" + httplib::detail::encode_query_param(options.site));
  if (r && r->status == 200) {
    s.alerts = nlohmann::json::parse(r->body, nullptr, false);
    if (s.alerts.is_discarded()) s.alerts = nullptr;
  } else {
    s.alerts_error = "could not read the site's alerts: " + Describe(r);
  }
  return s;
}

}  // namespace steadyeye
