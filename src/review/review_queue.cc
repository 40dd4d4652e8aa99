#include "steadyeye/review/review_queue.h"

#include <algorithm>

namespace steadyeye {

Status ValidateAnswer(const std::string& answer, const std::vector<std::string>& class_names) {
  if (answer == kAnswerBadImage || answer == kAnswerNewItem || answer == kAnswerSkip ||
      std::find(class_names.begin(), class_names.end(), answer) != class_names.end()) {
    return Status::Ok();
  }
  std::string choices;
  for (const auto& c : class_names) choices += "'" + c + "', ";
  return InvalidArgumentError("unknown answer '" + answer.substr(0, 60) + "': answer one of " +
                              choices + "'bad_image', 'new_item' or 'skip'");
}

int AnswersNeeded(int answers_needed, const std::vector<std::string>& answers,
                  const std::string& model_label, double model_confidence,
                  double second_opinion_confidence) {
  int needed = answers_needed;
  if (needed == 1 && !answers.empty() && answers[0] != model_label &&
      model_confidence >= second_opinion_confidence)
    needed = 2;
  if (needed >= 2 && answers.size() >= 2 && answers[0] != answers[1]) needed = 3;
  return std::min(needed, 3);
}

const char* TaskKindName(TaskKind kind) {
  switch (kind) {
    case TaskKind::kReview:
      return "review";
    case TaskKind::kQuality:
      return "quality";
    case TaskKind::kAudit:
      return "audit";
  }
  return "review";
}

}  // namespace steadyeye
