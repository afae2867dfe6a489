/* The floor (P1, P2, P3, P5): the leanest epoll server for the protocol, the reference doorman's
 * CPU per connection is measured against.
 *
 *   floor [--defer] [--timeout SECONDS] PORT      (binds 127.0.0.1:PORT; 0: the kernel picks one)
 *
 * Per connection it pays what the protocol cannot avoid: accept4 (already non-blocking), recv at
 * once (the request is usually there), send, close. Only a connection whose request has not
 * arrived yet costs an epoll registration, and it waits in a FIFO: every connection gets the same
 * timeout, so the oldest is always the first to expire and no heap or timer wheel is needed.
 * --defer sets TCP_DEFER_ACCEPT, so the kernel hands over connections only once they have data.
 * Single-threaded, no logging, no options beyond these: it is a yardstick, not a product.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loopback.h"

const char peer_name[] = "floor";

static const char welcome[] = "welcome to server!";
static const char go_out[] = "please go out!";

/* The waiting connections, indexed by descriptor: a doubly linked FIFO in arrays. */
static int* next_waiting;
static int* previous_waiting;
static int64_t* deadline_ms;
static int oldest = -1;
static int newest = -1;

static int64_t now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void start_waiting(int fd, int64_t deadline) {
  deadline_ms[fd] = deadline;
  next_waiting[fd] = -1;
  previous_waiting[fd] = newest;
  if (newest >= 0) {
    next_waiting[newest] = fd;
  } else {
    oldest = fd;
  }
  newest = fd;
}

static void stop_waiting(int fd) {
  if (previous_waiting[fd] >= 0) {
    next_waiting[previous_waiting[fd]] = next_waiting[fd];
  } else {
    oldest = next_waiting[fd];
  }
  if (next_waiting[fd] >= 0) {
    previous_waiting[next_waiting[fd]] = previous_waiting[fd];
  } else {
    newest = previous_waiting[fd];
  }
}

/* Reads the request and answers it; returns 0 if it has not arrived yet. The tutorial answers
 * an empty read (the client shut down its side) like a wrong password. */
static int answer(int fd) {
  char request[1024];
  ssize_t got = recv(fd, request, sizeof request, 0);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  if (got >= 0) {
    int welcomed = got == 1 && request[0] == '1';
    const char* reply = welcomed ? welcome : go_out;
    size_t length = welcomed ? sizeof welcome - 1 : sizeof go_out - 1;
    (void)send(fd, reply, length, MSG_NOSIGNAL);
  }
  close(fd);
  return 1;
}

static int raise_descriptor_limit(void) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) die("getrlimit");
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) die("setrlimit");
  return limit.rlim_cur > 16 * 1024 * 1024 ? 16 * 1024 * 1024 : (int)limit.rlim_cur;
}

static int listen_on(unsigned short port, int defer, int timeout_ms) {
  int listener = loopback_socket(SOCK_STREAM | SOCK_NONBLOCK);
  int on = 1;
  if (setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) die("SO_REUSEADDR");
  if (defer) {
    int seconds = timeout_ms / 1000 > 0 ? timeout_ms / 1000 : 1;
    if (setsockopt(listener, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds) != 0) {
      die("TCP_DEFER_ACCEPT");
    }
  }
  bind_loopback(listener, port);
  /* The kernel caps the backlog at net.core.somaxconn. */
  if (listen(listener, 4096) != 0) die("listen");
  say_listening(listener);
  return listener;
}

static void usage(void) {
  fprintf(stderr, "usage: floor [--defer] [--timeout SECONDS] PORT\n");
  exit(64);
}

int main(int argc, char** argv) {
  int defer = 0;
  int timeout_ms = 5000;
  long port = -1;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--defer") == 0) {
      defer = 1;
    } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
      timeout_ms = (int)(strtod(argv[++i], NULL) * 1000);
    } else if (port < 0) {
      port = parse_port(argv[i]);
      if (port < 0) usage();
    } else {
      usage();
    }
  }
  if (port < 0 || timeout_ms <= 0) usage();

  int descriptors = raise_descriptor_limit();
  next_waiting = malloc(sizeof *next_waiting * (size_t)descriptors);
  previous_waiting = malloc(sizeof *previous_waiting * (size_t)descriptors);
  deadline_ms = malloc(sizeof *deadline_ms * (size_t)descriptors);
  if (!next_waiting || !previous_waiting || !deadline_ms) die("malloc");

  int listener = listen_on((unsigned short)port, defer, timeout_ms);
  int poller = epoll_create1(EPOLL_CLOEXEC);
  if (poller < 0) die("epoll_create1");
  struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
  if (epoll_ctl(poller, EPOLL_CTL_ADD, listener, &event) != 0) die("epoll_ctl listener");
  /* Out of descriptors, a level-triggered listener would wake the loop for ever: the spare one
   * is given up to accept and close the connection at the head of the queue. */
  int spare = open("/dev/null", O_RDONLY | O_CLOEXEC);

  struct epoll_event events[256];
  for (;;) {
    int wait_ms = -1;
    if (oldest >= 0) {
      int64_t left = deadline_ms[oldest] - now_ms();
      wait_ms = left > 0 ? (int)left : 0;
    }
    int ready = epoll_wait(poller, events, 256, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < ready; ++i) {
      int fd = events[i].data.fd;
      if (fd != listener) {
        stop_waiting(fd);
        if (!answer(fd)) close(fd); /* readable yet nothing to read: not a client to wait for */
        continue;
      }
      for (;;) {
        int client = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (client < 0) {
          if ((errno == EMFILE || errno == ENFILE) && spare >= 0) {
            close(spare);
            client = accept(listener, NULL, NULL);
            if (client >= 0) close(client);
            spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
          }
          break; /* EAGAIN: the queue is empty; anything else: the client is gone already */
        }
        if (answer(client)) continue;
        if (client >= descriptors) {
          close(client);
          continue;
        }
        struct epoll_event wanted = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = client};
        if (epoll_ctl(poller, EPOLL_CTL_ADD, client, &wanted) != 0) {
          close(client);
          continue;
        }
        start_waiting(client, now_ms() + timeout_ms);
      }
    }
    if (oldest >= 0) {
      int64_t now = now_ms();
      while (oldest >= 0 && deadline_ms[oldest] <= now) {
        int expired = oldest;
        stop_waiting(expired);
        close(expired); /* closing removes it from the epoll set too */
      }
    }
  }
}
