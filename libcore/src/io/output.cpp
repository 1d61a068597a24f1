#include "llmkit/output.h"

#include <signal.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include "llmkit/cli.h"
#include "llmkit/error.h"

namespace llmkit {

void Stdout::fail(int err) const {
  const std::string why = err == EPIPE ? "the reader closed the pipe" : std::strerror(err ? err : EIO);
  throw OutputError("cannot write to stdout: " + why + " (" + std::to_string(records_) + " record" +
                    (records_ == 1 ? "" : "s") + " written)");
}

void Stdout::write(const void* data, size_t n) {
  if (closed_) throw OutputError("write to stdout after it was closed");
  errno = 0;
  if (n && std::fwrite(data, 1, n, stdout) != n) fail(errno);
}

void Stdout::write(std::string_view s) { write(s.data(), s.size()); }

void Stdout::flush() {
  if (closed_) return;
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) fail(errno);
}

void Stdout::end_record() {
  flush();
  ++records_;
}

void Stdout::record(std::string_view s) {
  write(s);
  write("\n", 1);
  end_record();
}

void Stdout::close() {
  if (closed_) return;
  flush();
  closed_ = true;
  errno = 0;
  if (std::fclose(stdout) != 0) fail(errno);
}

int run_tool(const char* name, int argc, char** argv, int (*body)(int, char**, Stdout&)) {
  signal(SIGPIPE, SIG_IGN);
  Stdout out;
  try {
    const int status = body(argc, argv, out);
    out.close();
    return status;
  } catch (const OutputError& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return kExitSomeFailed;
  } catch (const Error& e) {  // one the tool did not expect here: input that broke off (a corrupt stream)
    std::fprintf(stderr, "%s: %s (%llu records written)\n", name, e.what(), static_cast<unsigned long long>(out.records()));
    return kExitUsage;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: out of memory (%llu records written); try a smaller context (-c) or fewer "
                         "parallel sequences\n", name, static_cast<unsigned long long>(out.records()));
    return kExitUsage;
  }
}

}  // namespace llmkit
