#include "doorman/server/process_stats.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>

namespace doorman::server {
namespace {

std::string read_small_file(const char* path) {
  std::string text;
  if (std::FILE* file = std::fopen(path, "re")) {
    char buffer[4096];
    size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
      text.append(buffer, got);
    std::fclose(file);
  }
  return text;
}

uint64_t count_open_fds() {
  DIR* directory = ::opendir("/proc/self/fd");
  if (directory == nullptr) return 0;
  uint64_t count = 0;
  while (const dirent* entry = ::readdir(directory)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(directory);
  return count > 0 ? count - 1 : 0;  // less the directory's own descriptor
}

// The boot time in seconds since the epoch: /proc/self/stat gives the start in ticks after it.
uint64_t boot_time_seconds() {
  std::istringstream stat(read_small_file("/proc/stat"));
  std::string key;
  uint64_t value = 0;
  while (stat >> key) {
    if (key == "btime" && stat >> value) return value;
  }
  return 0;
}

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats stats;
  stats.open_fds = count_open_fds();
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) stats.max_fds = limit.rlim_cur;

  // proc(5): the command name (field 2) may hold spaces and parentheses: fields are counted
  // from the last ')'.
  const std::string stat = read_small_file("/proc/self/stat");
  const auto name_end = stat.rfind(')');
  if (name_end == std::string::npos) return stats;
  std::istringstream fields(stat.substr(name_end + 2));
  std::string field;
  uint64_t utime = 0, stime = 0, starttime = 0, vsize = 0, rss_pages = 0;
  // Field 3 (state) is the first after the name; utime is 14, stime 15, starttime 22,
  // vsize 23, rss 24.
  for (int number = 3; number <= 24 && fields >> field; ++number) {
    const uint64_t value = number == 3 ? 0 : std::strtoull(field.c_str(), nullptr, 10);
    if (number == 14) utime = value;
    if (number == 15) stime = value;
    if (number == 22) starttime = value;
    if (number == 23) vsize = value;
    if (number == 24) rss_pages = value;
  }
  const auto ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  stats.cpu_seconds = static_cast<double>(utime + stime) / ticks;
  stats.start_time_seconds =
      static_cast<double>(boot_time_seconds()) + static_cast<double>(starttime) / ticks;
  stats.virtual_memory_bytes = vsize;
  stats.resident_memory_bytes = rss_pages * page;
  return stats;
}

}  // namespace doorman::server
