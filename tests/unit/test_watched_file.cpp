// io::read_bounded and io::watched_file (io/watched_file.hpp): files plugins read, and read again on change.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "mailwright/io/watched_file.hpp"
#include "temp_dir.hpp"

using namespace mailwright;

namespace {

void write(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path.string() + ".new", std::ios::binary) << text;
    std::filesystem::rename(path.string() + ".new", path);  // a new inode: a change whatever the clock says
}

}  // namespace

TEST_CASE("read_bounded: a regular file within its limit, whole, anything else, a clear error", "[io]") {
    test::temp_dir dir("watched-file");
    const auto path = dir.path() / "rules";
    write(path, "one\ntwo\n");
    CHECK(io::read_bounded(path.string(), 8, "the rules") == "one\ntwo\n");
    CHECK_THROWS_WITH(io::read_bounded(path.string(), 7, "the rules"), path.string() + ": the rules is over 7 octets");
    CHECK_THROWS_WITH(io::read_bounded(dir.path().string(), 100, "the rules"),
                      dir.path().string() + ": the rules is not a regular file");
    CHECK_THROWS_WITH(io::read_bounded((dir.path() / "absent").string(), 100, "the rules"),
                      Catch::StartsWith((dir.path() / "absent").string() + ": cannot read the rules: "));
}

TEST_CASE("watched_file: rebuilt when the file changes, a bad version keeps the value in use", "[io]") {
    test::temp_dir dir("watched-file");
    const auto path = dir.path() / "value";
    write(path, "1");
    int builds = 0;
    auto build = [&](const std::string& p) {
        ++builds;
        const auto text = io::read_bounded(p, 100, "the value");
        if (text == "bad") {
            throw std::runtime_error(p + ":1: bad");
        }
        return std::make_shared<const std::string>(text);
    };
    io::watched_file<std::string> watched(path.string(), "test", build, std::chrono::milliseconds(10));
    CHECK(*watched.current() == "1");
    CHECK_FALSE(watched.refresh());  // unchanged: not even built
    CHECK(builds == 1);
    write(path, "2");
    CHECK(watched.refresh());
    CHECK(*watched.current() == "2");
    write(path, "bad");
    CHECK_FALSE(watched.refresh());
    CHECK_FALSE(watched.refresh());  // the bad version is built (and logged) once
    CHECK(builds == 3);
    CHECK(*watched.current() == "2");
}

TEST_CASE("watched_file: a file caught while it was written is read again at the next look", "[io]") {
    test::temp_dir dir("watched-file");
    const auto path = dir.path() / "value";
    write(path, "1");
    bool writing = false;
    auto build = [&](const std::string& p) {
        if (writing) {
            throw io::file_changed(p + ": changed while it was read");
        }
        return std::make_shared<const std::string>(io::read_bounded(p, 100, "the value"));
    };
    io::watched_file<std::string> watched(path.string(), "test", build);
    write(path, "2");
    writing = true;
    CHECK_FALSE(watched.refresh());
    writing = false;
    CHECK(watched.refresh());  // the same version, looked at again: now whole
    CHECK(*watched.current() == "2");
}

TEST_CASE("watched_file: one caller an interval looks, a value without a file never", "[io]") {
    test::temp_dir dir("watched-file");
    const auto path = dir.path() / "value";
    write(path, "");
    auto build = [](const std::string&) { return std::make_shared<const int>(0); };
    io::watched_file<int> watched(path.string(), "test", build, std::chrono::milliseconds(200));
    const auto now = std::chrono::steady_clock::now();
    CHECK_FALSE(watched.due(now));
    const auto later = now + std::chrono::milliseconds(250);
    CHECK(watched.due(later));
    CHECK_FALSE(watched.due(later));
    CHECK(watched.due(later + std::chrono::milliseconds(250)));
    io::watched_file<int> inline_only("", "test", build, std::chrono::milliseconds(0));
    CHECK_FALSE(inline_only.due(later));
    CHECK_FALSE(inline_only.refresh());
}
