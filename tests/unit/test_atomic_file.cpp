#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "llmkit/atomic_file.h"
#include "support/fixture.h"

namespace fs = std::filesystem;
using llmkit::AtomicFile;

TEST_CASE("an atomic file appears only on commit", "[io]") {
  auto dir = fixture::temp_dir();
  auto path = dir / "out.bin";
  {
    AtomicFile f(path.string());
    f.write("abc", 3);
    CHECK(!fs::exists(path));
    CHECK(fs::exists(f.temp_path()));
    f.commit();
  }
  CHECK(fixture::read_file(path) == std::vector<uint8_t>{'a', 'b', 'c'});
  std::string tmp;
  {
    AtomicFile f(path.string());
    f.write("xyz!", 4);
    tmp = f.temp_path();
  }  // not committed: the old file stays, the temporary goes
  CHECK(!fs::exists(tmp));
  CHECK(fs::file_size(path) == 3);
}

TEST_CASE("SIGINT removes a pending temporary", "[io]") {
  auto dir = fixture::temp_dir();
  int pipefd[2];
  REQUIRE(pipe(pipefd) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    AtomicFile f((dir / "big.bin").string());
    f.write("data", 4);
    char ok = 1;
    if (write(pipefd[1], &ok, 1) != 1) _exit(3);
    pause();
    _exit(0);
  }
  char c;
  REQUIRE(read(pipefd[0], &c, 1) == 1);
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGINT);
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 0);
}
