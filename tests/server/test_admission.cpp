#include <gtest/gtest.h>

#include <future>

#include "server/admission.h"

using gemma4::server::Admission;
using namespace std::chrono_literals;

TEST(Admission, AdmitsQueuesRefusesAndTimesOut) {
  Admission a(2, 1, 100ms);
  std::vector<std::pair<int64_t, int64_t>> changes;
  a.on_change([&](int64_t active, int64_t queued) { changes.push_back({active, queued}); });
  EXPECT_EQ(a.enter(), Admission::Outcome::admitted);
  EXPECT_EQ(a.enter(), Admission::Outcome::admitted);
  auto waiter = std::async(std::launch::async, [&] { return a.enter(); });
  while (a.queued() == 0) std::this_thread::yield();
  EXPECT_EQ(a.enter(), Admission::Outcome::queue_full);  // both slots and the one queue place taken
  EXPECT_EQ(waiter.get(), Admission::Outcome::timed_out);
  auto next = std::async(std::launch::async, [&] { return a.enter(); });
  while (a.queued() == 0) std::this_thread::yield();
  a.leave();
  EXPECT_EQ(next.get(), Admission::Outcome::admitted);  // a freed slot goes to the waiter
  EXPECT_EQ(a.active(), 2);
  std::vector<std::pair<int64_t, int64_t>> expected = {{1, 0}, {2, 0}, {2, 1}, {2, 0}, {2, 1}, {1, 1}, {2, 0}};
  EXPECT_EQ(changes, expected);
}

TEST(Admission, CloseRefusesAndWakesWaiters) {
  Admission a(1, 4, 10s);
  EXPECT_EQ(a.enter(), Admission::Outcome::admitted);
  auto waiter = std::async(std::launch::async, [&] { return a.enter(); });
  while (a.queued() == 0) std::this_thread::yield();
  a.close();
  EXPECT_EQ(waiter.get(), Admission::Outcome::closed);
  EXPECT_EQ(a.enter(), Admission::Outcome::closed);
  EXPECT_FALSE(a.wait_idle(std::chrono::steady_clock::now() + 20ms));
  a.leave();
  EXPECT_TRUE(a.wait_idle(std::chrono::steady_clock::now() + 1s));
}
