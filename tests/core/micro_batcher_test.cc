#include "steadyeye/core/micro_batcher.h"

#include <gtest/gtest.h>

#include <atomic>

namespace steadyeye {
namespace {

using Doubler = MicroBatcher<int, int>;

std::vector<StatusOr<int>> Double(std::vector<int>& items) {
  std::vector<StatusOr<int>> out;
  for (int v : items) out.emplace_back(2 * v);
  return out;
}

TEST(MicroBatcher, GathersConcurrentItemsIntoBatchesAndAnswersEachInOrder) {
  std::mutex mu;
  std::vector<size_t> sizes;
  {
    // A long delay: the first batch waits until it is full.
    Doubler b(Double, {.max_batch = 8, .max_delay_us = 5'000'000, .max_queue = 100}, [&](size_t n) {
      std::lock_guard lock(mu);
      sizes.push_back(n);
    });
    std::vector<std::future<StatusOr<int>>> futures;
    for (int i = 0; i < 16; ++i) {
      auto f = b.Submit(i);
      ASSERT_TRUE(f.ok());
      futures.push_back(std::move(*f));
    }
    for (int i = 0; i < 16; ++i) EXPECT_EQ(*futures[size_t(i)].get(), 2 * i);
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{8, 8}));
}

TEST(MicroBatcher, RunsAPartialBatchAfterTheDelayAndDrainsOnDestruction) {
  auto b = std::make_unique<Doubler>(
      Double, MicroBatchOptions{.max_batch = 64, .max_delay_us = 1000, .max_queue = 100});
  auto f = b->Submit(21);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f->get(), 42);  // did not wait for 63 more
  auto late = b->Submit(5);
  ASSERT_TRUE(late.ok());
  b.reset();  // accepted items still finish
  EXPECT_EQ(*late->get(), 10);
}

TEST(MicroBatcher, RefusesWhenTheQueueIsFullAndPassesErrorsOn) {
  std::atomic<bool> release{false};
  auto slow = [&](std::vector<int>& items) {
    while (!release) std::this_thread::yield();
    return Double(items);
  };
  Doubler b(slow, {.max_batch = 1, .max_delay_us = 0, .max_queue = 2});
  std::vector<std::future<StatusOr<int>>> accepted;
  int refused = 0;
  for (int i = 0; i < 10; ++i) {
    auto f = b.Submit(i);
    if (f.ok()) {
      accepted.push_back(std::move(*f));
    } else {
      EXPECT_EQ(f.status().code(), StatusCode::kResourceExhausted);
      ++refused;
    }
  }
  EXPECT_GE(refused, 7);  // one running, at most two waiting
  release = true;
  for (auto& f : accepted) EXPECT_TRUE(f.get().ok());

  Doubler broken([](std::vector<int>&) { return std::vector<StatusOr<int>>{}; }, {});
  auto r = broken.Submit(1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->get().status().code(), StatusCode::kInternal);
}

TEST(MicroBatcher, SeveralWorkersRunBatchesSideBySide) {
  // Each batch blocks until two batches are running at once: with one worker this would never
  // finish, so completing shows the second worker took the next batch while the first ran.
  std::mutex mu;
  std::condition_variable cv;
  int running = 0, peak = 0;
  auto rendezvous = [&](std::vector<int>& items) {
    std::unique_lock lock(mu);
    peak = std::max(peak, ++running);
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return peak >= 2; });
    --running;
    return Double(items);
  };
  Doubler b(rendezvous, {.max_batch = 4, .max_delay_us = 0, .max_queue = 100, .workers = 2});
  std::vector<std::future<StatusOr<int>>> futures;
  for (int i = 0; i < 40; ++i) {
    auto f = b.Submit(i);
    ASSERT_TRUE(f.ok());
    futures.push_back(std::move(*f));
  }
  for (int i = 0; i < 40; ++i) EXPECT_EQ(*futures[size_t(i)].get(), 2 * i);
  EXPECT_EQ(peak, 2);
}

}  // namespace
}  // namespace steadyeye
