// Read-only mmap of a whole file: tensor data is used in place, never copied.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "llmkit/atomic_file.h"
#include "llmkit/gguf.h"

namespace llmkit {
namespace {

class MappedFile final : public ByteSource {
 public:
  MappedFile(void* p, size_t n) : p_(p), n_(n) {}
  ~MappedFile() override {
    if (p_) munmap(p_, n_);
  }
  std::span<const uint8_t> bytes() const override { return {static_cast<const uint8_t*>(p_), n_}; }
  // Whole pages inside the range only: a page shared with a neighbouring tensor stays.
  void release(std::span<const uint8_t> r) const override {
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t b = (reinterpret_cast<uintptr_t>(r.data()) + page - 1) / page * page;
    const uintptr_t e = (reinterpret_cast<uintptr_t>(r.data()) + r.size()) / page * page;
    if (e > b) madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);  // a private read-only map: no data lost
  }

 private:
  void* p_;
  size_t n_;
};

}  // namespace

std::shared_ptr<ByteSource> map_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever; the
  // regular-file check below then rejects it. (It changes nothing for a regular file.)
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error("io", std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw Error("io", std::string("cannot stat: ") + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error("io", S_ISDIR(st.st_mode) ? "is a directory" : S_ISFIFO(st.st_mode) ? "is a FIFO (a pipe), not a file: a model must be a regular file"
                                                                                      : "not a regular file");
  }
  note_input_file(st.st_dev, st.st_ino, path);
  if (st.st_size == 0) {
    ::close(fd);
    throw GgufError(0, "empty file (0 bytes), not a GGUF file");
  }
  void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  ::close(fd);
  if (p == MAP_FAILED) throw Error("io", std::string("cannot map: ") + std::strerror(e));
  return std::make_shared<MappedFile>(p, static_cast<size_t>(st.st_size));
}

}  // namespace llmkit
