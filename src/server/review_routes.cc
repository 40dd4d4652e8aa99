// Routes of the review queue. The reviewer is the caller's token name.
#include <algorithm>
#include <numeric>

#include "http_common.h"
#include "steadyeye/core/time.h"
#include "steadyeye/image/codec.h"

namespace steadyeye::internal {

namespace {

// The model's top-3 for a stored capture, or nothing when its probabilities do not fit the
// current model's classes (captured by another model version).
nlohmann::json Suggestions(const Capture& c, const std::vector<std::string>& classes) {
  nlohmann::json out = nlohmann::json::array();
  if (c.probabilities.size() != classes.size()) return out;
  std::vector<size_t> order(classes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return c.probabilities[a] > c.probabilities[b]; });
  for (size_t i = 0; i < std::min<size_t>(3, order.size()); ++i)
    out.push_back({{"label", classes[order[i]]}, {"probability", c.probabilities[order[i]]}});
  return out;
}

// What a reviewer sees of a task. Blind (audit) tasks leave out everything the model said.
StatusOr<nlohmann::json> TaskJson(ServerContext& ctx, const ReviewTask& t) {
  SEYE_ASSIGN_OR_RETURN(const Capture c, ctx.store.Get(t.capture_id));
  nlohmann::json flags = nlohmann::json::array();
  if (c.quality.contains("flags") && c.quality["flags"].is_array()) {
    for (const auto& f : c.quality["flags"])
      flags.push_back({{"reason", f.value("reason", "")}, {"cause", f.value("cause", "")}});
  }
  nlohmann::json j = {{"id", t.id},
                      {"capture_id", t.capture_id},
                      {"kind", TaskKindName(t.kind)},
                      {"blind", t.blind()},
                      {"site", c.site},
                      {"camera", c.camera},
                      {"time", FormatUnixMillis(c.time_ms)},
                      {"width", c.width},
                      {"height", c.height},
                      {"image", "/v1/review/" + std::to_string(t.id) + "/image"},
                      {"quality", {{"verdict", c.quality.value("verdict", "")}, {"flags", flags}}},
                      {"answers_needed", t.answers_needed + t.escalated},
                      {"second_opinion", t.escalated > 0},
                      {"lease_until", FormatUnixMillis(t.lease_until_ms)}};
  if (!t.blind()) {
    j["suggestions"] = Suggestions(c, ctx.predictor.model()->card().class_names);
    j["reasons"] = c.reasons;
  }
  return j;
}

// The reviewer's counters, added to every answer so the page needs no extra request.
void AddCounts(ServerContext& ctx, const Caller& caller, nlohmann::json& j) {
  if (auto stats = ctx.store.QueueStats(caller.name); stats.ok()) {
    j["done_by_you"] = stats->done_by_reviewer;
    j["open"] = stats->open;
  }
}

StatusOr<int64_t> TaskId(const httplib::Request& req) {
  return ParseInteger(req.matches[1], "task id");
}

void Next(ServerContext& ctx, const httplib::Request& req, httplib::Response& res,
          const Caller& caller) {
  int64_t besides = 0;
  if (auto text = Query(req, "besides")) {
    auto v = ParseInteger(*text, "besides");
    if (!v.ok()) return SendError(res, v.status());
    besides = *v;
  }
  auto task =
      ctx.store.NextTask(caller.name, UnixMillisNow(), ctx.options.review_lease_ms, besides);
  if (!task.ok()) return SendError(res, task.status());
  nlohmann::json body = {{"task", nullptr}, {"classes", ctx.predictor.model()->card().class_names}};
  if (task->has_value()) {
    auto j = TaskJson(ctx, **task);
    if (!j.ok()) return SendError(res, j.status());
    body["task"] = std::move(*j);
  }
  AddCounts(ctx, caller, body);
  SendJson(res, 200, body);
}

void AnswerTask(ServerContext& ctx, const httplib::Request& req, httplib::Response& res,
                const Caller& caller) {
  auto id = TaskId(req);
  if (!id.ok()) return SendError(res, id.status());
  auto json = JsonBody(req);
  if (!json.ok()) return SendError(res, json.status());
  if (!json->contains("answer") || !(*json)["answer"].is_string())
    return SendError(
        res, InvalidArgumentError("send {\"answer\": \"<class>|bad_image|new_item|skip\"}"));
  const std::string answer = (*json)["answer"];
  if (Status st = ValidateAnswer(answer, ctx.predictor.model()->card().class_names); !st.ok())
    return SendError(res, st);
  auto stored = ctx.store.Answer(*id, caller.name, answer, UnixMillisNow());
  if (!stored.ok()) return SendError(res, stored.status());
  // The answer is stored whatever the monitor makes of it; a failed read only costs the drift
  // monitor one audit observation.
  (void)ObserveAuditAnswer(ctx.store, ctx.predictor, *stored);
  nlohmann::json body = {{"task_id", stored->task_id},
                         {"capture_id", stored->capture_id},
                         {"answer", stored->answer},
                         {"reviewer", stored->reviewer}};
  AddCounts(ctx, caller, body);
  SendJson(res, 200, body);
}

void UndoTask(ServerContext& ctx, const httplib::Request& req, httplib::Response& res,
              const Caller& caller) {
  auto id = TaskId(req);
  if (!id.ok()) return SendError(res, id.status());
  auto task = ctx.store.Undo(*id, caller.name, UnixMillisNow(), ctx.options.review_lease_ms);
  if (!task.ok()) return SendError(res, task.status());
  auto j = TaskJson(ctx, *task);
  if (!j.ok()) return SendError(res, j.status());
  nlohmann::json body = {{"task", std::move(*j)},
                         {"classes", ctx.predictor.model()->card().class_names}};
  AddCounts(ctx, caller, body);
  SendJson(res, 200, body);
}

void TaskImage(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto id = TaskId(req);
  if (!id.ok()) return SendError(res, id.status());
  auto task = ctx.store.GetTask(*id);
  if (!task.ok()) return SendError(res, task.status());
  auto bytes = ctx.store.GetImage(task->capture_id);
  if (!bytes.ok()) return SendError(res, bytes.status());
  res.set_header("Cache-Control", "private, max-age=3600");
  res.set_content(std::string(bytes->begin(), bytes->end()),
                  std::string("image/") + ImageFormatName(*bytes));
}

void Stats(ServerContext& ctx, httplib::Response& res, const Caller& caller) {
  auto s = ctx.store.QueueStats(caller.name);
  if (!s.ok()) return SendError(res, s.status());
  SendJson(res, 200,
           {{"open", s->open},
            {"leased", s->leased},
            {"open_audit", s->open_audit},
            {"done", s->done},
            {"answers", s->answers},
            {"skips", s->skips},
            {"double_reviewed", s->double_reviewed},
            {"agreed", s->agreed},
            {"second_opinions", s->second_opinions},
            {"agreement", s->double_reviewed > 0
                              ? nlohmann::json(double(s->agreed) / double(s->double_reviewed))
                              : nlohmann::json()},
            {"done_by_you", s->done_by_reviewer}});
}

void Accuracy(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  std::optional<int64_t> from, to;
  for (auto [name, field] : {std::pair{"from", &from}, std::pair{"to", &to}}) {
    if (auto text = Query(req, name)) {
      auto t = ParseTimestamp(*text);
      if (!t.ok()) return SendError(res, t.status().WithContext(name));
      *field = *t;
    }
  }
  auto records = ctx.store.ReviewRecords(Query(req, "site"), from, to);
  if (!records.ok()) return SendError(res, records.status());
  nlohmann::json estimates = nlohmann::json::array();
  for (const auto& e : EstimateAccuracy(*records)) estimates.push_back(e.ToJson());
  SendJson(res, 200,
           {{"from", from ? nlohmann::json(FormatUnixMillis(*from)) : nlohmann::json()},
            {"to", to ? nlohmann::json(FormatUnixMillis(*to)) : nlohmann::json()},
            {"estimates", estimates}});
}

}  // namespace

std::vector<Route> ReviewRoutes(ServerContext& ctx) {
  ServerContext* c = &ctx;
  const std::vector<Param> task_param = {{"task", "path", true, "integer", "Review task id"}};
  return {
      {"review_next",
       "get",
       "/v1/review/next",
       "/v1/review/next",
       kReviewerRole,
       "Lease the most urgent task to the caller (the same one again while the lease holds): "
       "image, site, camera, time, quality flags, and the model's top 3 unless the task is a "
       "blind audit; task is null when the queue is empty",
       {{"besides", "query", false, "integer",
         "Lease another task than this one (to prefetch the next)"}},
       nullptr,
       "application/json",
       [c](const auto& req, auto& res, const Caller& who) { Next(*c, req, res, who); }},
      {"review_answer", "post", "/v1/review/{task}/answer", R"(/v1/review/(\d+)/answer)",
       kReviewerRole,
       "Answer a task: {\"answer\": one of the classes, bad_image, new_item or skip}", task_param,
       "application/json", "application/json",
       [c](const auto& req, auto& res, const Caller& who) { AnswerTask(*c, req, res, who); }},
      {"review_undo", "post", "/v1/review/{task}/undo", R"(/v1/review/(\d+)/undo)", kReviewerRole,
       "Take back the caller's last answer, which must be on this task", task_param, nullptr,
       "application/json",
       [c](const auto& req, auto& res, const Caller& who) { UndoTask(*c, req, res, who); }},
      {"review_image", "get", "/v1/review/{task}/image", R"(/v1/review/(\d+)/image)", kReviewerRole,
       "The image of a task", task_param, nullptr, "image/*",
       [c](const auto& req, auto& res, const Caller&) { TaskImage(*c, req, res); }},
      {"review_stats",
       "get",
       "/v1/review/stats",
       "/v1/review/stats",
       kReviewerRole | kOperatorRole,
       "Queue counts, reviewer agreement on double-reviewed tasks, and the caller's answers",
       {},
       nullptr,
       "application/json",
       [c](const auto&, auto& res, const Caller& who) { Stats(*c, res, who); }},
      {"stats_accuracy",
       "get",
       "/v1/stats/accuracy",
       "/v1/stats/accuracy",
       kOperatorRole,
       "True production accuracy per site and day (and per site over the range): automatic "
       "decisions from the blind audit with a 95% Wilson interval, final decisions, review rate, "
       "bad-image rate, reviewer agreement",
       {{"site", "query", false, "string", "Only this site"},
        {"from", "query", false, "string", "Taken at or after (ISO 8601 or epoch ms)"},
        {"to", "query", false, "string", "Taken before (ISO 8601 or epoch ms)"}},
       nullptr,
       "application/json",
       [c](const auto& req, auto& res, const Caller&) { Accuracy(*c, req, res); }},
  };
}

}  // namespace steadyeye::internal
