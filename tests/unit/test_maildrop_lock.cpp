// The SDK's maildrop lock (plugin/maildrop_lock.hpp): one holder at a time within this process and against
// another process (a forked child, whose copy of the process-wide set is empty: only the flock stops it).
#include "mailwright/plugin/maildrop_lock.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "temp_dir.hpp"

namespace mw = mailwright::plugin;

namespace {

// A child process that waits for a byte on `go`, tries the lock and exits with the status it got (as an int),
// holding what it got until a second byte arrives.
class child_locker {
  public:
    explicit child_locker(const std::filesystem::path& file) {
        REQUIRE(::pipe(go_) == 0);
        REQUIRE(::pipe(done_) == 0);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            char c = 0;
            if (::read(go_[0], &c, 1) != 1) {
                ::_exit(100);
            }
            mw::maildrop_lock lock(file);
            const char status = static_cast<char>(lock.status());
            if (::write(done_[1], &status, 1) != 1 || ::read(go_[0], &c, 1) != 1) {
                ::_exit(101);
            }
            ::_exit(0);
        }
        ::close(go_[0]);
        ::close(done_[1]);
    }
    ~child_locker() {
        ::close(go_[1]);  // the child's last read ends
        ::close(done_[0]);
        if (pid_ > 0) {
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
    }

    // Lets the child try; returns what it got (it keeps holding it).
    mw::store_status attempt() {
        const char c = 'g';
        REQUIRE(::write(go_[1], &c, 1) == 1);
        char status = 0;
        REQUIRE(::read(done_[0], &status, 1) == 1);
        return static_cast<mw::store_status>(status);
    }
    // Lets the child release what it holds and end.
    void finish() {
        const char c = 'f';
        REQUIRE(::write(go_[1], &c, 1) == 1);
        int status = 0;
        REQUIRE(::waitpid(pid_, &status, 0) == pid_);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
        pid_ = -1;
    }

  private:
    int go_[2] = {-1, -1};
    int done_[2] = {-1, -1};
    pid_t pid_ = -1;
};

}  // namespace

TEST_CASE("maildrop_lock: a second session of this process is in use until the first lets go", "[plugin][lock]") {
    mailwright::test::temp_dir dir("mailwright-lock");
    const auto file = dir.path() / ".lock";
    {
        mw::maildrop_lock first(file);
        CHECK(first.held());
        mw::maildrop_lock second(file);
        CHECK(second.status() == mw::store_status::in_use);
        // The same file by another spelling is the same maildrop.
        mw::maildrop_lock third(dir.path() / "." / ".lock");
        CHECK(third.status() == mw::store_status::in_use);
    }
    mw::maildrop_lock again(file);
    CHECK(again.held());
    CHECK(std::filesystem::exists(file));
}

TEST_CASE("maildrop_lock: moved, the lock goes along, and release() lets go", "[plugin][lock]") {
    mailwright::test::temp_dir dir("mailwright-lock");
    const auto file = dir.path() / ".lock";
    mw::maildrop_lock first(file);
    mw::maildrop_lock moved(std::move(first));
    CHECK(moved.held());
    CHECK_FALSE(first.held());  // NOLINT(bugprone-use-after-move): a moved-from lock holds nothing
    CHECK(mw::maildrop_lock(file).status() == mw::store_status::in_use);
    moved.release();
    CHECK_FALSE(moved.held());
    CHECK(mw::maildrop_lock(file).held());
}

TEST_CASE("maildrop_lock: another process is kept out, and gets it once this one lets go", "[plugin][lock]") {
    mailwright::test::temp_dir dir("mailwright-lock");
    const auto file = dir.path() / ".lock";
    {
        child_locker child(file);  // forked before this process holds anything
        auto held = std::make_unique<mw::maildrop_lock>(file);
        REQUIRE(held->held());
        CHECK(child.attempt() == mw::store_status::in_use);
        child.finish();
    }
    child_locker child(file);
    CHECK(child.attempt() == mw::store_status::ok);
    CHECK(mw::maildrop_lock(file).status() == mw::store_status::in_use);  // now the other process holds it
    child.finish();
    CHECK(mw::maildrop_lock(file).held());
}

TEST_CASE("maildrop_lock: a file that cannot be made is a temporary failure", "[plugin][lock]") {
    mw::maildrop_lock lock("/nonexistent-mailwright-dir/.lock");
    CHECK(lock.status() == mw::store_status::tempfail);
    CHECK_FALSE(lock.held());
}

TEST_CASE("maildrop_lock: in_process names keep sessions of this process apart", "[plugin][lock]") {
    auto first = mw::maildrop_lock::in_process("unit-test:alice");
    CHECK(first.held());
    CHECK(mw::maildrop_lock::in_process("unit-test:alice").status() == mw::store_status::in_use);
    CHECK(mw::maildrop_lock::in_process("unit-test:bob").held());
    first.release();
    CHECK(mw::maildrop_lock::in_process("unit-test:alice").held());
}
