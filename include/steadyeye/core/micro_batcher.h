// Gathers work items handed over by many threads into batches run by worker threads: the
// pattern behind dynamic micro-batching of model calls and group commit of captures.
//
// A batch is run when it holds `max_batch` items, or when its oldest item has waited
// `max_delay_us`, whichever comes first (0: run whatever is waiting as soon as the worker is
// free; under load, items pile up while a batch runs, so batches still grow). The queue is
// bounded: Submit() refuses with ResourceExhausted when `max_queue` items wait, so overload turns
// into fast refusals instead of unbounded memory and latency. With several `workers`, each takes
// the next batch when it is free, so batches run side by side (`run` must then be thread-safe);
// results are still delivered per item, but batches may complete out of submission order.
//
// Thread-safety: Submit() and depth() may be called from any thread. The destructor runs every
// item already accepted, then stops the worker.
#pragma once

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "steadyeye/core/status.h"

namespace steadyeye {

struct MicroBatchOptions {
  size_t max_batch = 32;
  int64_t max_delay_us = 0;
  size_t max_queue = 1024;
  size_t workers = 1;
  const char* thread_name = "seye-batch";  // shown by top -H and perf (at most 15 characters)
};

template <typename In, typename Out>
class MicroBatcher {
 public:
  // `run` gets a batch and returns one result per item, in order (any other count fails the
  // whole batch with Internal).
  using RunFn = std::function<std::vector<StatusOr<Out>>(std::vector<In>& batch)>;
  // Called after each batch with its size (for metrics); may be empty.
  using Observer = std::function<void(size_t batch_size)>;

  MicroBatcher(RunFn run, MicroBatchOptions options, Observer observer = {})
      : run_(std::move(run)),
        options_{std::max<size_t>(1, options.max_batch), std::max<int64_t>(0, options.max_delay_us),
                 std::max<size_t>(1, options.max_queue), std::max<size_t>(1, options.workers),
                 options.thread_name},
        observer_(std::move(observer)) {
    for (size_t i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { Loop(); });
  }

  ~MicroBatcher() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  MicroBatcher(const MicroBatcher&) = delete;
  MicroBatcher& operator=(const MicroBatcher&) = delete;

  // ResourceExhausted when the queue is full; Unavailable after shutdown began.
  StatusOr<std::future<StatusOr<Out>>> Submit(In item) {
    std::future<StatusOr<Out>> future;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return UnavailableError("shutting down");
      if (queue_.size() >= options_.max_queue) {
        return ResourceExhaustedError("the queue is full (" + std::to_string(options_.max_queue) +
                                      " waiting); retry shortly");
      }
      queue_.push_back(Pending{std::move(item), {}, std::chrono::steady_clock::now()});
      future = queue_.back().result.get_future();
    }
    cv_.notify_one();
    return future;
  }

  size_t depth() const {
    std::lock_guard lock(mu_);
    return queue_.size();
  }
  const MicroBatchOptions& options() const { return options_; }

 private:
  struct Pending {
    In item;
    std::promise<StatusOr<Out>> result;
    std::chrono::steady_clock::time_point queued;
  };

  void Loop() {
    pthread_setname_np(pthread_self(), options_.thread_name);
    std::vector<Pending> batch;
    std::vector<In> items;
    while (true) {
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything accepted is done
        const auto deadline =
            queue_.front().queued + std::chrono::microseconds(options_.max_delay_us);
        cv_.wait_until(lock, deadline,
                       [&] { return stopping_ || queue_.size() >= options_.max_batch; });
        batch.clear();
        while (!queue_.empty() && batch.size() < options_.max_batch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      if (batch.empty()) continue;  // another worker took them while this one waited
      items.clear();
      for (auto& p : batch) items.push_back(std::move(p.item));
      std::vector<StatusOr<Out>> results = run_(items);
      if (results.size() != batch.size()) {
        results.assign(batch.size(),
                       InternalError("a batch of " + std::to_string(batch.size()) + " returned " +
                                     std::to_string(results.size()) + " results"));
      }
      for (size_t i = 0; i < batch.size(); ++i) batch[i].result.set_value(std::move(results[i]));
      if (observer_) observer_(batch.size());
    }
  }

  const RunFn run_;
  const MicroBatchOptions options_;
  const Observer observer_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;  // last: started after everything above is initialised
};

}  // namespace steadyeye
