// The pgconn-agent binary run as a child process with a clean environment,
// and the small file helpers its tests share.
#ifndef PGCONN_TESTS_INTEGRATION_AGENT_PROCESS_H_
#define PGCONN_TESTS_INTEGRATION_AGENT_PROCESS_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace pgconn::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

inline std::string TempPath(const std::string& stem) {
  char tmpl[64];
  std::snprintf(tmpl, sizeof(tmpl), "/tmp/pgconn-%s-XXXXXX", stem.c_str());
  const int fd = mkstemp(tmpl);
  close(fd);
  return tmpl;
}

// The agent binary run as a child process with a clean environment;
// `max_open_files` > 0 sets the child's RLIMIT_NOFILE (soft and hard).
class AgentProcess {
 public:
  AgentProcess(std::vector<std::string> args,
               std::map<std::string, std::string> env,
               rlim_t max_open_files = 0)
      : out_(TempPath("stdout")), err_(TempPath("stderr")) {
    pid_ = fork();
    if (pid_ == 0) {
      if (max_open_files > 0) {
        const rlimit lim{max_open_files, max_open_files};
        if (setrlimit(RLIMIT_NOFILE, &lim) != 0) _exit(126);
      }
      const int o = open(out_.c_str(), O_WRONLY | O_TRUNC);
      const int e = open(err_.c_str(), O_WRONLY | O_TRUNC);
      dup2(o, 1);
      dup2(e, 2);
      std::vector<std::string> envs;
      envs.push_back("PATH=/usr/bin:/bin");
      envs.push_back("HOME=/nonexistent");
      for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
      std::vector<char*> argv{const_cast<char*>(PGCONN_AGENT_BINARY)};
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      std::vector<char*> envp;
      for (auto& e2 : envs) envp.push_back(e2.data());
      envp.push_back(nullptr);
      execve(PGCONN_AGENT_BINARY, argv.data(), envp.data());
      _exit(127);
    }
  }
  ~AgentProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::remove(out_.c_str());
    std::remove(err_.c_str());
  }

  // Waits for the process to exit; returns its exit code, or -1 on timeout.
  int Wait(std::chrono::seconds timeout = std::chrono::seconds(30)) {
    // Looks at least once, so Wait(0s) tells whether it has exited.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      if (std::chrono::steady_clock::now() >= deadline) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  void Signal(int sig) { kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  std::string Stdout() const { return ReadFile(out_); }
  std::string Stderr() const { return ReadFile(err_); }
  const std::string& stdout_path() const { return out_; }

 private:
  std::string out_, err_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

}  // namespace pgconn::testing

#endif  // PGCONN_TESTS_INTEGRATION_AGENT_PROCESS_H_
