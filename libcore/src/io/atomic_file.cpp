#include "llmkit/atomic_file.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "llmkit/error.h"

namespace llmkit {
namespace {

// Temporaries that a signal must not leave behind. Fixed storage: the handler may only call
// async-signal-safe functions (unlink, signal, raise) and read plain memory.
constexpr int kSlots = 16;
char g_paths[kSlots][4096];
std::atomic<bool> g_claimed[kSlots];  // slot owned by an AtomicFile
std::atomic<bool> g_live[kSlots];     // path complete: the handler may unlink it
std::once_flag g_handlers_once;

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction g_previous[3];

// Removes pending temporaries, then hands the signal to whoever had it before (a tool's own
// handler, a test framework, or the default action that ends the process).
extern "C" void remove_temporaries(int sig) {
  for (int i = 0; i < kSlots; ++i)
    if (g_live[i].load()) unlink(g_paths[i]);
  for (int k = 0; k < 3; ++k)
    if (kSignals[k] == sig) sigaction(sig, &g_previous[k], nullptr);
  raise(sig);
}

int claim_slot(const std::string& path) {
  std::call_once(g_handlers_once, [] {
    for (int k = 0; k < 3; ++k) {
      sigaction(kSignals[k], nullptr, &g_previous[k]);
      if (g_previous[k].sa_handler == SIG_IGN) continue;  // nohup'd: stay ignored
      struct sigaction sa {};
      sa.sa_handler = remove_temporaries;
      sigemptyset(&sa.sa_mask);
      sigaction(kSignals[k], &sa, nullptr);
    }
  });
  if (path.size() >= sizeof(g_paths[0])) return -1;
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (g_claimed[i].compare_exchange_strong(expected, true)) {
      std::memcpy(g_paths[i], path.c_str(), path.size() + 1);
      g_live[i].store(true);
      return i;
    }
  }
  return -1;
}

void release_slot(int slot) {
  if (slot < 0) return;
  g_live[slot].store(false);
  g_claimed[slot].store(false);
}

std::string dir_of(const std::string& p) {
  auto s = p.find_last_of('/');
  return s == std::string::npos ? "." : (s == 0 ? "/" : p.substr(0, s));
}
std::string base_of(const std::string& p) {
  auto s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

struct InputFile {
  uint64_t dev, ino;
  std::string path;
};
std::mutex g_inputs_mutex;
std::vector<InputFile> g_inputs;

}  // namespace

void note_input_file(uint64_t dev, uint64_t ino, const std::string& path) {
  std::lock_guard<std::mutex> lock(g_inputs_mutex);
  for (const InputFile& f : g_inputs)
    if (f.dev == dev && f.ino == ino) return;
  g_inputs.push_back({dev, ino, path});
}

void note_input_file(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) note_input_file(st.st_dev, st.st_ino, path);
}

void refuse_input_file(const std::string& path) {
  if (struct stat st {}; stat(path.c_str(), &st) == 0) {
    std::lock_guard<std::mutex> lock(g_inputs_mutex);
    for (const InputFile& f : g_inputs)
      if (f.dev == static_cast<uint64_t>(st.st_dev) && f.ino == static_cast<uint64_t>(st.st_ino))
        throw Error("usage", "refusing to write over the input file " + f.path + " (output " + path + ")");
  }
}

namespace {
// Holds SIGINT, SIGTERM and SIGHUP back while it lives: a signal between creating a temporary
// and registering it would leave the file behind (the default action ends the process at once).
// One that arrives meanwhile is delivered when the guard ends, to the handler that removes it.
struct HoldSignals {
  sigset_t old;
  HoldSignals() {
    sigset_t block;
    sigemptyset(&block);
    for (int sig : kSignals) sigaddset(&block, sig);
    pthread_sigmask(SIG_BLOCK, &block, &old);
  }
  ~HoldSignals() { pthread_sigmask(SIG_SETMASK, &old, nullptr); }
};
}  // namespace

AtomicFile::AtomicFile(const std::string& path) : path_(path) {
  // Renaming over a file this run reads would destroy the input (and, mapped, the data being
  // read): `gguf-convert DIR DIR/model.safetensors`, `gguf-synth --vocab v.gguf v.gguf`.
  refuse_input_file(path);
  std::string tmpl = dir_of(path) + "/." + base_of(path) + ".tmp.XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  const HoldSignals hold;
  int fd = mkostemp(buf.data(), O_CLOEXEC);
  if (fd < 0) throw Error("io", "cannot create a temporary file beside " + path + ": " + std::strerror(errno));
  tmp_ = buf.data();
  fchmod(fd, 0644);
  f_ = fdopen(fd, "wb");
  if (!f_) {
    ::close(fd);
    unlink(tmp_.c_str());
    throw Error("io", "cannot open " + tmp_ + ": " + std::strerror(errno));
  }
  setvbuf(f_, nullptr, _IOFBF, 1 << 20);
  slot_ = claim_slot(tmp_);
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() noexcept {
  if (f_) {
    fclose(f_);
    f_ = nullptr;
    unlink(tmp_.c_str());
  }
  release_slot(slot_);
  slot_ = -1;
}

void AtomicFile::write(const void* data, size_t n) {
  if (!f_) throw Error("io", "write to a closed output file");
  if (n && fwrite(data, 1, n, f_) != n)
    throw Error("io", "cannot write " + path_ + ": " + std::strerror(errno));
  written_ += n;
}

void AtomicFile::write_zeros(size_t n) {
  static const char zeros[4096] = {};
  while (n) {
    size_t k = n < sizeof(zeros) ? n : sizeof(zeros);
    write(zeros, k);
    n -= k;
  }
}

void AtomicFile::commit() {
  if (!f_) throw Error("io", "commit of a closed output file");
  // No fsync: the rename makes the file appear whole or not at all, which is the promise; a
  // multi-gigabyte sync would cost seconds a quantization run does not need to wait for.
  if (fflush(f_) != 0) {
    std::string e = std::strerror(errno);
    discard();
    throw Error("io", "cannot write " + path_ + ": " + e);
  }
  fclose(f_);
  f_ = nullptr;
  if (rename(tmp_.c_str(), path_.c_str()) != 0) {
    std::string e = std::strerror(errno);
    unlink(tmp_.c_str());
    release_slot(slot_);
    slot_ = -1;
    throw Error("io", "cannot rename " + tmp_ + " to " + path_ + ": " + e);
  }
  release_slot(slot_);
  slot_ = -1;
}

}  // namespace llmkit
