// Results on stdout with every write checked. A full disk or a closed pipe ends the run with an
// error naming how many records were written, never exit 0 with records lost.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace llmkit {

// Not an llmkit::Error on purpose: a record loop's `catch (const Error&)` turns a bad record
// into an error record, and a failed stdout must not be answered by writing more to it.
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Stdout {
 public:
  // One record: `s` and a newline, flushed so that `records()` counts what really left.
  void record(std::string_view s);
  // Text or bytes that are not a whole record (streamed tokens, binary vectors); checked at flush.
  void write(std::string_view s);
  void write(const void* data, size_t n);
  // Counts a record written with write() and flushes.
  void end_record();
  void flush();
  // Flushes and closes stdout; a close that fails (NFS, a full disk noticed late) is an error too.
  void close();
  uint64_t records() const { return records_; }

 private:
  [[noreturn]] void fail(int err) const;
  uint64_t records_ = 0;
  bool closed_ = false;
};

// Runs a tool's main with a checked stdout: SIGPIPE is ignored so a closed pipe is a write
// error (EPIPE) the tool reports; an OutputError ends the run with exit 1 and a message saying
// how many records were written; running out of memory is a clear message with exit 2, not
// an abort. `body` returns the tool's exit code.
int run_tool(const char* name, int argc, char** argv, int (*body)(int, char**, Stdout&));

}  // namespace llmkit
