#pragma once
// Why a forked child failed before its new program ran (upgrade.cpp): the child writes the step
// and errno into a close-on-exec pipe, so a successful exec closes it and the parent reads
// nothing. Parent and child of one fork.

namespace doorman::server {

// What the child did when it failed before the new program ran.
enum class ChildStep : int { dup, dup2, execve };
struct ChildFailure {
  ChildStep step;
  int code;
};

// The system call the step names, for the parent's error line.
const char* step_name(ChildStep step) noexcept;

// Async-signal-safe: tells the parent why through `report`, then exits as a shell would.
[[noreturn]] void fail_in_child(int report, ChildStep step, int code) noexcept;

// Parent, once it has closed its copy of the write end: blocks until the child has exec'd or
// failed. True, and `failure` filled in, when the child reported one.
bool read_child_failure(int report, ChildFailure& failure) noexcept;

}  // namespace doorman::server
