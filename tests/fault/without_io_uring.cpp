// doorman-without-io-uring PROGRAM [ARG...]: runs PROGRAM under a seccomp filter that fails
// io_uring_setup with ENOSYS, as a container runtime's default profile does, so the tests can
// show the server's fallback to epoll. (liburing makes its system calls itself, not through
// libc, so an LD_PRELOAD shim could not reach them.)

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: doorman-without-io-uring PROGRAM [ARG...]\n");
    return 64;
  }
  // The system call number alone: the program runs on the architecture this was built for.
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
    std::fprintf(stderr, "doorman-without-io-uring: seccomp: %s\n", std::strerror(errno));
    return 71;
  }
  ::execvp(argv[1], argv + 1);
  std::fprintf(stderr, "doorman-without-io-uring: %s: %s\n", argv[1], std::strerror(errno));
  return 127;
}
