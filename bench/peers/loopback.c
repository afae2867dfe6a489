#define _GNU_SOURCE
#include "loopback.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void die(const char* operation) {
  fprintf(stderr, "%s: %s: %s\n", peer_name, operation, strerror(errno));
  exit(71);
}

long parse_port(const char* text) {
  char* end;
  long port = strtol(text, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) return -1;
  return port;
}

int loopback_socket(int type) {
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  return fd;
}

void bind_loopback(int fd, unsigned short port) {
  struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(port)};
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr*)&address, sizeof address) != 0) die("bind 127.0.0.1");
}

void say_listening(int fd) {
  struct sockaddr_in address;
  socklen_t length = sizeof address;
  if (getsockname(fd, (struct sockaddr*)&address, &length) != 0) die("getsockname");
  fprintf(stderr, "listening on 127.0.0.1:%d\n", ntohs(address.sin_port));
}
