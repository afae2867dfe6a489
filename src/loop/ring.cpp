#include "doorman/loop/ring.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <ctime>
#include <string>
#include <utility>

namespace doorman::loop {
namespace {

// Mapped rather than allocated: the kernel needs the buffer ring page-aligned, and pages of the
// buffers that no receive ever reaches cost no memory.
void* map(size_t bytes) noexcept {
  void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return memory == MAP_FAILED ? nullptr : memory;
}

Result<std::unique_ptr<io_uring>> set_up(unsigned entries) {
  auto ring = std::make_unique<io_uring>();
  io_uring_params params{};
  // Completions are run when this thread asks for them, not by interrupting it at any time.
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  params.cq_entries = entries * 8;
  int set = io_uring_queue_init_params(entries, ring.get(), &params);
  if (set == -EINVAL) {  // a kernel before 6.1
    params = io_uring_params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = entries * 8;
    set = io_uring_queue_init_params(entries, ring.get(), &params);
  }
  if (set < 0) return Error("io_uring_setup", "", -set);
  // Each io_uring_enter then finds the ring without a descriptor lookup; optional (5.18+).
  (void)io_uring_register_ring_fd(ring.get());
  if ((params.features & IORING_FEAT_EXT_ARG) == 0) {
    io_uring_queue_exit(ring.get());
    return Error::described("io_uring_setup", "", "the kernel cannot wait with a timeout (5.11+)");
  }
  return ring;
}

Result<void> has_operations(io_uring& ring) {
  io_uring_probe* probe = io_uring_get_probe_ring(&ring);
  if (probe == nullptr) return Error::described("io_uring probe", "", "the kernel cannot say");
  struct Needed {
    int opcode;
    const char* name;
  };
  static constexpr Needed kNeeded[] = {
      {IORING_OP_ACCEPT, "accept"},       {IORING_OP_RECV, "recv"},
      {IORING_OP_SEND, "send"},           {IORING_OP_CLOSE, "close"},
      {IORING_OP_ASYNC_CANCEL, "cancel"}, {IORING_OP_POLL_ADD, "poll"}};
  for (const Needed& needed : kNeeded) {
    if (!io_uring_opcode_supported(probe, needed.opcode)) {
      io_uring_free_probe(probe);
      return Error::described("io_uring probe", "",
                              std::string("the kernel has no ") + needed.name + " operation");
    }
  }
  io_uring_free_probe(probe);
  return {};
}

}  // namespace

Result<void> Ring::probe() {
  // Multishot accept and provided-buffer rings came in the same release (5.19), so a ring
  // that can register a buffer ring has both.
  auto ring = create(8, 1, 64);
  if (!ring) return std::move(ring).error();
  return {};
}

Result<Ring> Ring::create(unsigned entries, unsigned buffers, size_t buffer_size) {
  auto set = set_up(entries);
  if (!set) return std::move(set).error();
  Ring ring(std::move(set).value(), buffer_size);
  if (auto operations = has_operations(*ring.ring_); !operations) {
    return std::move(operations).error();
  }
  ring.buffer_count_ = buffers;
  ring.buffer_ring_bytes_ = buffers * sizeof(io_uring_buf);
  ring.buffer_ring_ = static_cast<io_uring_buf_ring*>(map(ring.buffer_ring_bytes_));
  ring.buffers_bytes_ = buffers * buffer_size;
  ring.buffers_ = static_cast<char*>(map(ring.buffers_bytes_));
  if (ring.buffer_ring_ == nullptr || ring.buffers_ == nullptr) return Error("mmap", "", ENOMEM);
  io_uring_buf_reg registration{};
  registration.ring_addr = reinterpret_cast<uintptr_t>(ring.buffer_ring_);
  registration.ring_entries = buffers;
  registration.bgid = kBufferGroup;
  if (const int registered = io_uring_register_buf_ring(ring.ring_.get(), &registration, 0);
      registered < 0) {
    return Error("io_uring_register_buf_ring", "", -registered);
  }
  io_uring_buf_ring_init(ring.buffer_ring_);
  const int mask = io_uring_buf_ring_mask(buffers);
  for (unsigned id = 0; id < buffers; ++id) {
    io_uring_buf_ring_add(ring.buffer_ring_, ring.buffers_ + id * buffer_size,
                          static_cast<unsigned>(buffer_size), static_cast<uint16_t>(id), mask,
                          static_cast<int>(id));
  }
  io_uring_buf_ring_advance(ring.buffer_ring_, static_cast<int>(buffers));
  return ring;
}

Ring::Ring(std::unique_ptr<io_uring> ring, size_t buffer_size) noexcept
    : ring_(std::move(ring)), buffer_size_(buffer_size) {}

Ring::Ring(Ring&& other) noexcept
    : ring_(std::move(other.ring_)),
      buffer_ring_(std::exchange(other.buffer_ring_, nullptr)),
      buffer_ring_bytes_(other.buffer_ring_bytes_),
      buffers_(std::exchange(other.buffers_, nullptr)),
      buffers_bytes_(other.buffers_bytes_),
      buffer_size_(other.buffer_size_),
      buffer_count_(other.buffer_count_),
      set_aside_(std::move(other.set_aside_)),
      failure_(std::move(other.failure_)) {}

Ring::~Ring() {
  // The ring first: the kernel lets go of the buffers when its requests are gone.
  if (ring_) io_uring_queue_exit(ring_.get());
  if (buffer_ring_ != nullptr) ::munmap(buffer_ring_, buffer_ring_bytes_);
  if (buffers_ != nullptr) ::munmap(buffers_, buffers_bytes_);
}

io_uring_sqe& Ring::next() {
  io_uring_sqe* sqe = io_uring_get_sqe(ring_.get());
  for (int attempt = 0; sqe == nullptr && !failure_; ++attempt) {
    const int submitted = io_uring_submit(ring_.get());
    if (submitted == -EBUSY) {
      // A kernel that refuses submissions while completions overflow the queue: take them off
      // it (completions() hands them out) and submit again.
      io_uring_cqe* cqe = nullptr;
      while (io_uring_peek_cqe(ring_.get(), &cqe) == 0 && cqe != nullptr) {
        set_aside_.push_back(*cqe);
        io_uring_cqe_seen(ring_.get(), cqe);
      }
    }
    sqe = io_uring_get_sqe(ring_.get());
    // Any other failure, or a queue that stays full (EBUSY, EAGAIN: no memory for the requests
    // now), would spin here for ever: the loop stops with the reason instead (submit_and_wait
    // returns it).
    const bool failed =
        submitted < 0 && submitted != -EBUSY && submitted != -EINTR && submitted != -EAGAIN;
    if (sqe == nullptr && (failed || attempt == kSubmitAttempts)) {
      failure_.emplace("io_uring_enter", "", submitted < 0 ? -submitted : EBUSY);
    }
  }
  if (sqe != nullptr) return *sqe;
  if (!discarded_) discarded_ = std::make_unique<io_uring_sqe>();
  *discarded_ = io_uring_sqe{};
  return *discarded_;
}

Result<void> Ring::submit_and_wait(int timeout_ms) {
  if (failure_) return *failure_;
  io_uring_cqe* cqe = nullptr;
  int done = 0;
  // Completions set aside by next() are waiting already: handed out this turn, not after the
  // next unrelated one arrives.
  if (!set_aside_.empty()) timeout_ms = 0;
  if (timeout_ms == 0) {
    done = io_uring_submit_and_get_events(ring_.get());
  } else if (timeout_ms < 0) {
    done = io_uring_submit_and_wait_timeout(ring_.get(), &cqe, 1, nullptr, nullptr);
  } else {
    __kernel_timespec timeout{};
    timeout.tv_sec = timeout_ms / 1000;
    timeout.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
    done = io_uring_submit_and_wait_timeout(ring_.get(), &cqe, 1, &timeout, nullptr);
  }
  if (done >= 0 || done == -ETIME || done == -EINTR || done == -EAGAIN || done == -EBUSY) return {};
  return Error("io_uring_enter", "", -done);
}

Result<void> Ring::submit() {
  if (failure_) return *failure_;
  const int done = io_uring_submit(ring_.get());
  if (done >= 0 || done == -EINTR || done == -EAGAIN || done == -EBUSY) return {};
  return Error("io_uring_enter", "", -done);
}

std::string_view Ring::received(const io_uring_cqe& cqe) const noexcept {
  if (cqe.res <= 0 || (cqe.flags & IORING_CQE_F_BUFFER) == 0) return {};
  const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  return {buffers_ + id * buffer_size_, static_cast<size_t>(cqe.res)};
}

void Ring::give_back(const io_uring_cqe& cqe) noexcept {
  if ((cqe.flags & IORING_CQE_F_BUFFER) == 0) return;
  const unsigned id = cqe.flags >> IORING_CQE_BUFFER_SHIFT;
  io_uring_buf_ring_add(buffer_ring_, buffers_ + id * buffer_size_,
                        static_cast<unsigned>(buffer_size_), static_cast<uint16_t>(id),
                        io_uring_buf_ring_mask(buffer_count_), 0);
  io_uring_buf_ring_advance(buffer_ring_, 1);
}

}  // namespace doorman::loop
