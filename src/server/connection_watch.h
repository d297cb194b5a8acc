// Notices clients that hang up while their generation runs, so it can be cancelled.
//
// cpp-httplib (0.11, as Debian ships it) does not expose a request's socket, so the socket is
// found by its addresses: the one whose local and peer ports are the request's. A background
// thread polls the watched sockets for a hang-up every few tens of milliseconds and raises the
// request's cancel flag.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/backend.h"

namespace gemma4::server {

// The file descriptor of this process's TCP socket with these local and peer endpoints, or -1.
int find_tcp_socket(const std::string& local_addr, int local_port, const std::string& peer_addr, int peer_port);

// True when the peer of a connected socket has closed it (or the socket is in error).
bool peer_hung_up(int fd);

class ConnectionWatch {
 public:
  explicit ConnectionWatch(std::chrono::milliseconds period = std::chrono::milliseconds(50));
  ~ConnectionWatch();

  // Watches `fd` until unwatch(); raises *cancel when its peer hangs up.
  void watch(int fd, CancelFlag* cancel);
  void unwatch(CancelFlag* cancel);

 private:
  void loop();

  struct Entry {
    int fd;
    CancelFlag* cancel;
  };
  const std::chrono::milliseconds period_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Entry> entries_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace gemma4::server
