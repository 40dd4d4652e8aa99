// The human review queue: every kept capture becomes a task for a person, whose answer becomes
// both the final decision and tomorrow's training label.
//
// Tasks come from captures routed to review (low confidence, quality flags) and from the blind
// audit sample of automatic decisions. The queue hands out the most urgent task first: higher
// site weight, then higher uncertainty (in steps of 0.01), then older. Audit tasks carry a random
// uncertainty key instead of the model's: the audit must stay a random sample even when reviewers
// only get through part of it, and ordering it by confidence would bias the accuracy estimate.
//
// A task is leased to one reviewer at a time; a lease that expires returns the task. A share of
// tasks (StoreOptions::double_review_share) needs two answers from different reviewers, which
// measures reviewer agreement. A reviewer can undo their last answer.
//
// Second opinions: an answer that contradicts a model that was sure of itself (confidence at
// least StoreOptions::second_opinion_confidence) asks a second reviewer, blind; two answers that
// differ ask a third. The capture's label is the answer most reviewers gave. A reviewer who
// errs 2% of the time would otherwise put 2% wrong labels among exactly the images on which the
// model's certified error rate (1% or less) is checked again at a site, and no certificate
// could ever hold there; with a second opinion a wrong label needs two independent slips.
// Only disagreements cost an extra answer, so the extra work is a few percent of the answers.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "steadyeye/core/status.h"
#include "steadyeye/review/accuracy.h"

namespace steadyeye {

// Answers besides the model's classes.
inline constexpr const char* kAnswerBadImage = "bad_image";  // unrecognisable: the camera's fault
inline constexpr const char* kAnswerNewItem = "new_item";    // none of the model's classes
inline constexpr const char* kAnswerSkip = "skip";           // leave it to someone else

// What a reviewer may answer for a model with `class_names`; InvalidArgument naming the choices
// otherwise.
Status ValidateAnswer(const std::string& answer, const std::vector<std::string>& class_names);

// How many answers other than skip a task needs, given those it has (oldest first): its
// `answers_needed`, one more when the first answer contradicts `model_label` while the model's
// `model_confidence` was at least `second_opinion_confidence`, and a third when the first two
// differ. Never more than three.
int AnswersNeeded(int answers_needed, const std::vector<std::string>& answers,
                  const std::string& model_label, double model_confidence,
                  double second_opinion_confidence);

enum class TaskKind { kReview, kQuality, kAudit };  // as the capture's KeptBecause
const char* TaskKindName(TaskKind kind);

struct ReviewTask {
  int64_t id = 0;
  int64_t capture_id = 0;
  TaskKind kind = TaskKind::kReview;
  std::string site;
  int64_t created_ms = 0;
  int answers_needed = 1;  // 2 for the double-reviewed share; escalations not counted
  int answers_done = 0;    // answers other than skip
  int escalated = 0;       // answers asked beyond answers_needed (second opinion, tie-break)
  std::string leased_to;
  int64_t lease_until_ms = 0;
  bool done = false;
  // Audit tasks and second opinions are labelled blind: the reviewer UI must not show the
  // model's suggestion.
  bool blind() const { return kind == TaskKind::kAudit || escalated > 0; }
};

struct ReviewAnswer {
  int64_t id = 0;
  int64_t task_id = 0;
  int64_t capture_id = 0;
  std::string reviewer;
  std::string answer;
  int64_t answered_ms = 0;
};

struct ReviewStats {
  int64_t open = 0;        // tasks waiting for an answer (leased or not)
  int64_t leased = 0;      // of those, currently leased
  int64_t open_audit = 0;  // open audit tasks
  int64_t done = 0;        // tasks with all their answers
  int64_t answers = 0;     // answers given (skips included, undone ones not)
  int64_t skips = 0;
  int64_t double_reviewed = 0;   // done tasks with two answers
  int64_t agreed = 0;            // of those, where both answers were the same
  int64_t second_opinions = 0;   // tasks that asked for answers beyond their own (escalated)
  int64_t done_by_reviewer = 0;  // answers by the reviewer asked about (0 when none was named)
};

class ReviewQueue {
 public:
  virtual ~ReviewQueue() = default;

  // Leases the most urgent open task to `reviewer` until now + lease_ms. A reviewer who already
  // holds a lease gets that task again (a reloaded page shows the same image). Tasks the reviewer
  // answered or skipped before are not offered to them again. nullopt when nothing is left.
  // `besides_task` (0: none) is left out: a page prefetching the next task while its reviewer
  // looks at this one holds two leases.
  virtual StatusOr<std::optional<ReviewTask>> NextTask(const std::string& reviewer, int64_t now_ms,
                                                       int64_t lease_ms,
                                                       int64_t besides_task = 0) = 0;

  // Records `answer` (already validated by the caller against the model's classes). The reviewer
  // must hold the task's lease, or the lease must have lapsed with nobody else holding it:
  // FailedPrecondition otherwise, and for a task already done. NotFound for an unknown task.
  // Every non-skip answer sets the capture's reviewed label to the answer given most often so
  // far (the earliest of those tied); whether the task is done follows AnswersNeeded.
  virtual StatusOr<ReviewAnswer> Answer(int64_t task_id, const std::string& reviewer,
                                        const std::string& answer, int64_t now_ms) = 0;

  // Takes back `reviewer`'s most recent answer, which must be on `task_id` (FailedPrecondition
  // otherwise: only the last answer can be undone). The task is open again, leased back to the
  // reviewer, and the capture's reviewed label follows the remaining answers.
  virtual StatusOr<ReviewTask> Undo(int64_t task_id, const std::string& reviewer, int64_t now_ms,
                                    int64_t lease_ms) = 0;

  // NotFound for an unknown id.
  virtual StatusOr<ReviewTask> GetTask(int64_t task_id) const = 0;
  // Every answer still standing for the capture's task, oldest first.
  virtual StatusOr<std::vector<ReviewAnswer>> AnswersFor(int64_t capture_id) const = 0;

  // Counts over the whole queue; `reviewer` (may be empty) fills done_by_reviewer.
  virtual StatusOr<ReviewStats> QueueStats(const std::string& reviewer) const = 0;

  // Every capture taken in [since_ms, until_ms) (all when unset), of one site or all, with its
  // review outcome: what EstimateAccuracy needs. Reads the whole range into memory.
  virtual StatusOr<std::vector<ReviewRecord>> ReviewRecords(
      const std::optional<std::string>& site, std::optional<int64_t> since_ms,
      std::optional<int64_t> until_ms) const = 0;

  // Tasks of sites with a higher weight are handed out first (default 1). InvalidArgument for a
  // weight that is negative or not finite.
  virtual Status SetSiteWeight(const std::string& site, double weight) = 0;
};

}  // namespace steadyeye
