/* The datagram floor (P6): the leanest UDP responder for the protocol, the reference doorman's
 * datagram mode is measured against.
 *
 *   udp_floor [--timeout SECONDS] PORT      (binds 127.0.0.1:PORT; 0: the kernel picks one)
 *
 * A blocking socket, recvmmsg of up to BATCH datagrams (waiting for the first one only), the
 * replies sent back in one sendmmsg. A datagram is its own request, so there is nothing to time
 * out: --timeout is accepted for a command line like the other peers' and ignored.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loopback.h"

enum { BATCH = 64, REQUEST_SIZE = 1024 };

const char peer_name[] = "udp_floor";

static char welcome[] = "welcome to server!";
static char go_out[] = "please go out!";

static void usage(void) {
  fprintf(stderr, "usage: udp_floor [--timeout SECONDS] PORT\n");
  exit(64);
}

int main(int argc, char** argv) {
  long port = -1;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
      ++i;
    } else if (port < 0) {
      port = parse_port(argv[i]);
      if (port < 0) usage();
    } else {
      usage();
    }
  }
  if (port < 0) usage();

  int fd = loopback_socket(SOCK_DGRAM);
  bind_loopback(fd, (unsigned short)port);
  say_listening(fd);

  static char requests[BATCH][REQUEST_SIZE];
  static struct sockaddr_storage sources[BATCH];
  static struct iovec request_vectors[BATCH];
  static struct iovec reply_vectors[BATCH];
  static struct mmsghdr received[BATCH];
  static struct mmsghdr replies[BATCH];
  for (int i = 0; i < BATCH; ++i) {
    request_vectors[i] = (struct iovec){.iov_base = requests[i], .iov_len = REQUEST_SIZE};
  }
  for (;;) {
    for (int i = 0; i < BATCH; ++i) {
      received[i].msg_hdr = (struct msghdr){.msg_name = &sources[i],
                                            .msg_namelen = sizeof sources[i],
                                            .msg_iov = &request_vectors[i],
                                            .msg_iovlen = 1};
    }
    int count = recvmmsg(fd, received, BATCH, MSG_WAITFORONE, NULL);
    if (count < 0) {
      if (errno == EINTR) continue;
      die("recvmmsg");
    }
    for (int i = 0; i < count; ++i) {
      int welcomed = received[i].msg_len == 1 && requests[i][0] == '1';
      reply_vectors[i] = welcomed
                             ? (struct iovec){.iov_base = welcome, .iov_len = sizeof welcome - 1}
                             : (struct iovec){.iov_base = go_out, .iov_len = sizeof go_out - 1};
      replies[i].msg_hdr = (struct msghdr){.msg_name = &sources[i],
                                           .msg_namelen = received[i].msg_hdr.msg_namelen,
                                           .msg_iov = &reply_vectors[i],
                                           .msg_iovlen = 1};
    }
    int sent = 0;
    while (sent < count) {
      int now = sendmmsg(fd, replies + sent, (unsigned)(count - sent), 0);
      if (now < 0) {
        if (errno == EINTR) continue;
        ++sent; /* that reply's source is unreachable; skip it, keep the others */
        continue;
      }
      sent += now;
    }
  }
}
