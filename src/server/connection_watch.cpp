#include "server/connection_watch.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace gemma4::server {
namespace {

// "addr", port of a sockaddr (IPv4 or IPv6), as httplib formats them.
bool endpoint_of(const sockaddr_storage& ss, std::string* addr, int* port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
    *port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof buf);
    *port = ntohs(in6->sin6_port);
  } else {
    return false;
  }
  *addr = buf;
  return true;
}

bool socket_matches(int fd, const std::string& local_addr, int local_port, const std::string& peer_addr,
                    int peer_port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  std::string addr;
  int port = -1;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 || !endpoint_of(ss, &addr, &port)) return false;
  if (port != local_port || (!local_addr.empty() && addr != local_addr)) return false;
  len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 || !endpoint_of(ss, &addr, &port)) return false;
  return port == peer_port && (peer_addr.empty() || addr == peer_addr);
}

}  // namespace

int find_tcp_socket(const std::string& local_addr, int local_port, const std::string& peer_addr, int peer_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (dirent* e = readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == dirfd(dir)) continue;
    struct stat st {};
    if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    if (socket_matches(static_cast<int>(fd), local_addr, local_port, peer_addr, peer_port)) {
      found = static_cast<int>(fd);
      break;
    }
  }
  closedir(dir);
  return found;
}

bool peer_hung_up(int fd) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return true;
  if (p.revents & POLLIN) {
    // Readable: either the next pipelined request (still connected) or end of stream.
    char c;
    return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  }
  return false;
}

ConnectionWatch::ConnectionWatch(std::chrono::milliseconds period) : period_(period), thread_([this] { loop(); }) {}

ConnectionWatch::~ConnectionWatch() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ConnectionWatch::watch(int fd, CancelFlag* cancel) {
  std::lock_guard lock(mu_);
  entries_.push_back({fd, cancel});
}

void ConnectionWatch::unwatch(CancelFlag* cancel) {
  // Under the lock, so the loop never touches an entry after it was removed.
  std::lock_guard lock(mu_);
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.cancel == cancel; }),
                 entries_.end());
}

void ConnectionWatch::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    for (const auto& e : entries_)
      if (!e.cancel->load() && peer_hung_up(e.fd)) e.cancel->store(true);
    cv_.wait_for(lock, period_, [&] { return stopping_; });
  }
}

}  // namespace gemma4::server
