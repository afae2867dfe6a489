/* What the floors (floor.c, udp_floor.c) share: their PORT argument, their socket on
 * 127.0.0.1 and the `listening on` line bench/run.py and the tests wait for, and how they fail.
 */
#ifndef DOORMAN_BENCH_PEERS_LOOPBACK_H
#define DOORMAN_BENCH_PEERS_LOOPBACK_H

/* The program's name in its error lines; each floor defines it. */
extern const char peer_name[];

/* Says "NAME: OPERATION: reason" and exits 71 (EX_OSERR). */
_Noreturn void die(const char* operation);

/* A PORT argument, 0 to 65535; -1 when `text` is none. */
long parse_port(const char* text);

/* A close-on-exec IPv4 socket of `type` (SOCK_STREAM or SOCK_DGRAM, with SOCK_NONBLOCK if
 * wanted). */
int loopback_socket(int type);

/* Binds `fd` to 127.0.0.1:port (0: the kernel picks one). */
void bind_loopback(int fd, unsigned short port);

/* Once it serves: "listening on 127.0.0.1:PORT" on stderr, with the port bound. */
void say_listening(int fd);

#endif
