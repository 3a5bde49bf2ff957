// The Maildir mailstore plugin, loaded through the plugin host into this process, against a temporary
// directory: delivery and retrieval byte for byte, sizes, UIDL stability, TOP, deletion rules, locking,
// concurrency, files vanishing under us, a full disk, and hostile user names.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "mailwright/plugin/fixed_settings.hpp"
#include "mailwright/plugin/host.hpp"
#include "support.hpp"
#include "temp_dir.hpp"

using namespace mailwright;
using mailwright::test::run;
namespace fs = std::filesystem;

namespace {

struct temp_store {
    test::temp_dir dir{"mailwright-maildir"};
    fs::path root = dir.path() / "mail";  // made by the store when it first delivers
    plugin::fixed_settings settings{{"path", (root / "%u" / "Maildir").string()}};
    std::unique_ptr<plugin::host> host = make_host();

    std::unique_ptr<plugin::host> make_host() {
        auto h = std::make_unique<plugin::host>(plugin::host_options{.search_path = plugin::default_search_path()});
        h->load({{"maildir", &settings}});
        return h;
    }
    ~temp_store() { host.reset(); }  // before the directory goes
    plugin::mailstore& store() { return *host->store(); }
    fs::path maildir(const std::string& user) const { return root / user / "Maildir"; }

    // What the delivery came to for all recipients: ok, tempfail if any failed for now, else permfail.
    plugin::store_status deliver(std::vector<std::string> users, std::string text, std::size_t piece = 7) {
        return summary(run(plugin::deliver(store(), users, text, piece)));
    }
    static plugin::store_status summary(const plugin::delivery_result& result) {
        const auto& all = result.recipients;
        if (std::any_of(all.begin(), all.end(), [](const auto& r) { return r.temporary(); })) {
            return plugin::store_status::tempfail;
        }
        return std::all_of(all.begin(), all.end(), [](const auto& r) { return r.ok(); })
                   ? plugin::store_status::ok
                   : plugin::store_status::permfail;
    }
    std::string read(plugin::maildrop& drop, std::size_t index, std::optional<std::size_t> lines = {}) {
        auto opened = run(drop.open_message(index, lines));
        REQUIRE(opened.status == plugin::store_status::ok);
        std::string out;
        char buffer[5];  // small on purpose: conversions must work across chunk boundaries
        for (;;) {
            auto chunk = run(opened.reader->read_some(buffer));
            REQUIRE_FALSE(chunk.ec);
            if (chunk.bytes == 0) {
                return out;
            }
            out.append(buffer, chunk.bytes);
        }
    }
};

std::size_t count_files(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        n += entry.path().filename().string().front() != '.';
    }
    return n;
}

const std::string message =
    "From: a@example.org\r\nTo: b@example.org\r\nSubject: test\r\n\r\nfirst line\r\n.starts with a dot\r\n"
    "\r\nan embedded\rCR\r\nlast line\r\n";

}  // namespace

TEST_CASE("maildir: the bytes delivered are the bytes retrieved", "[maildir]") {
    temp_store t;
    REQUIRE(t.deliver({"alice"}, message) == plugin::store_status::ok);
    // Stored the Maildir way: in new/, LF line ends, both sizes in the name.
    REQUIRE(count_files(t.maildir("alice") / "new") == 1);
    const auto file = fs::directory_iterator(t.maildir("alice") / "new")->path();
    std::ifstream in(file, std::ios::binary);
    const std::string stored((std::istreambuf_iterator<char>(in)), {});
    CHECK(stored.find("\r\n") == std::string::npos);
    CHECK(file.filename().string().find(",S=" + std::to_string(stored.size()) +
                                        ",W=" + std::to_string(message.size())) != std::string::npos);
    CHECK(count_files(t.maildir("alice") / "tmp") == 0);

    auto opened = run(t.store().open("alice"));
    REQUIRE(opened.status == plugin::store_status::ok);
    REQUIRE(opened.drop->messages().size() == 1);
    CHECK(opened.drop->messages()[0].size == message.size());  // octets as POP3 counts them
    CHECK(t.read(*opened.drop, 0) == message);
    CHECK(count_files(t.maildir("alice") / "new") == 0);  // seen: moved to cur/
    CHECK(count_files(t.maildir("alice") / "cur") == 1);
}

TEST_CASE("maildir: TOP gives the headers and exactly N body lines", "[maildir]") {
    temp_store t;
    REQUIRE(t.deliver({"alice"}, message) == plugin::store_status::ok);
    auto drop = run(t.store().open("alice")).drop;
    const std::string headers = "From: a@example.org\r\nTo: b@example.org\r\nSubject: test\r\n\r\n";
    CHECK(t.read(*drop, 0, 0) == headers);
    CHECK(t.read(*drop, 0, 2) == headers + "first line\r\n.starts with a dot\r\n");
    CHECK(t.read(*drop, 0, 100) == message);
}

TEST_CASE("maildir: UIDL is stable across sessions and restarts, and unique", "[maildir]") {
    temp_store t;
    for (int i = 0; i < 5; ++i) {
        REQUIRE(t.deliver({"alice"}, message) == plugin::store_status::ok);
    }
    std::vector<std::string> first;
    {
        auto drop = run(t.store().open("alice")).drop;
        for (const auto& m : drop->messages()) {
            first.push_back(m.uid);
            CHECK(m.uid.size() <= 70);
        }
    }
    CHECK(std::set<std::string>(first.begin(), first.end()).size() == 5);
    t.host = t.make_host();  // a restart: a new plugin instance reading the same files
    auto drop = run(t.store().open("alice")).drop;
    std::vector<std::string> again;
    for (const auto& m : drop->messages()) {
        again.push_back(m.uid);
    }
    CHECK(again == first);
}

TEST_CASE("maildir: deletions happen only at commit", "[maildir]") {
    temp_store t;
    for (int i = 0; i < 3; ++i) {
        REQUIRE(t.deliver({"alice"}, message) == plugin::store_status::ok);
    }
    {
        auto drop = run(t.store().open("alice")).drop;
        drop->mark_deleted(0);
        drop->mark_deleted(2);
        CHECK(drop->is_deleted(0));
        // The session ends without commit (a dropped connection): nothing is deleted.
    }
    {
        auto drop = run(t.store().open("alice")).drop;
        CHECK(drop->messages().size() == 3);
        drop->mark_deleted(1);
        drop->undelete_all();  // POP3 RSET
        drop->mark_deleted(2);
        CHECK(run(drop->commit()) == plugin::store_status::ok);
    }
    auto drop = run(t.store().open("alice")).drop;
    CHECK(drop->messages().size() == 2);
}

TEST_CASE("maildir: one session per maildrop, within a process and between processes", "[maildir][lock]") {
    temp_store t;
    REQUIRE(t.deliver({"alice"}, message) == plugin::store_status::ok);
    {
        auto first = run(t.store().open("alice"));
        REQUIRE(first.status == plugin::store_status::ok);
        CHECK(run(t.store().open("alice")).status == plugin::store_status::in_use);
        CHECK(run(t.store().open("bob")).status == plugin::store_status::ok);  // others are not affected
    }
    CHECK(run(t.store().open("alice")).status == plugin::store_status::ok);  // released with the session

    // Another process holds the lock (as a second daemon on the same Maildir would), then dies.
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const std::string lock_path = (t.maildir("alice") / ".mailwright.lock").string();
    const pid_t child = ::fork();
    if (child == 0) {
        const int lock = ::open(lock_path.c_str(), O_RDWR);
        const char verdict = lock >= 0 && ::flock(lock, LOCK_EX) == 0 ? 'y' : 'n';
        (void)!::write(ready[1], &verdict, 1);
        ::pause();
        ::_exit(0);
    }
    char c = '?';
    REQUIRE(::read(ready[0], &c, 1) == 1);
    REQUIRE(c == 'y');
    CHECK(run(t.store().open("alice")).status == plugin::store_status::in_use);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    CHECK(run(t.store().open("alice")).status == plugin::store_status::ok);  // the lock died with it
    ::close(ready[0]);
    ::close(ready[1]);
}

TEST_CASE("maildir: message numbers do not shift when mail arrives during a session", "[maildir]") {
    temp_store t;
    REQUIRE(t.deliver({"alice"}, message) == plugin::store_status::ok);
    auto drop = run(t.store().open("alice")).drop;
    REQUIRE(t.deliver({"alice"}, "Subject: later\r\n\r\nnew\r\n") == plugin::store_status::ok);
    CHECK(drop->messages().size() == 1);
    CHECK(t.read(*drop, 0) == message);
    drop.reset();
    CHECK(run(t.store().open("alice")).drop->messages().size() == 2);
}

TEST_CASE("maildir: a message removed by another program is an error for that message only", "[maildir]") {
    temp_store t;
    REQUIRE(t.deliver({"alice"}, message) == plugin::store_status::ok);
    REQUIRE(t.deliver({"alice"}, message) == plugin::store_status::ok);
    auto drop = run(t.store().open("alice")).drop;
    fs::remove(*fs::directory_iterator(t.maildir("alice") / "cur"));
    std::size_t missing = 0;
    for (std::size_t i = 0; i < 2; ++i) {
        auto opened = run(drop->open_message(i, std::nullopt));
        missing += opened.status == plugin::store_status::not_found;
        drop->mark_deleted(i);
    }
    CHECK(missing == 1);
    CHECK(run(drop->commit()) == plugin::store_status::ok);  // deleting what is already gone is fine
}

TEST_CASE("maildir: several recipients, and many concurrent deliveries", "[maildir]") {
    temp_store t;
    REQUIRE(t.deliver({"alice", "bob", "carol"}, message) == plugin::store_status::ok);
    for (const char* user : {"alice", "bob", "carol"}) {
        CHECK(count_files(t.maildir(user) / "new") == 1);
    }
    constexpr int threads = 2;
    constexpr int per_thread = 40;
    std::vector<std::thread> workers;
    std::atomic<int> ok{0};
    for (int w = 0; w < threads; ++w) {
        workers.emplace_back([&] {
            asio::io_context io;
            for (int i = 0; i < per_thread; ++i) {
                asio::co_spawn(
                    io,
                    [&, i]() -> asio::awaitable<void> {
                        const std::string text = "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n";
                        const std::string users[] = {"dave"};
                        const auto result = co_await plugin::deliver(t.store(), users, text, 4096);
                        if (temp_store::summary(result) == plugin::store_status::ok) {
                            ++ok;
                        }
                    },
                    asio::detached);
            }
            io.run();
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    CHECK(ok == threads * per_thread);
    auto drop = run(t.store().open("dave")).drop;
    CHECK(drop->messages().size() == threads * per_thread);
}

TEST_CASE("maildir: a user named twice gets one copy, and both are answered ok", "[maildir]") {
    // Regression: link() into new/ answers EEXIST for the second copy of a message into the same Maildir, which
    // was a temporary failure: the client heard 4xx for a message stored once, and stored it again on every
    // retry.
    temp_store t;
    const std::vector<std::string> users{"alice", "bob", "alice"};
    const auto result = run(plugin::deliver(t.store(), users, message));
    REQUIRE(result.recipients.size() == 3);
    CHECK(std::all_of(result.recipients.begin(), result.recipients.end(), [](const auto& r) { return r.ok(); }));
    CHECK(count_files(t.maildir("alice") / "new") == 1);
    CHECK(count_files(t.maildir("bob") / "new") == 1);
    CHECK(count_files(t.maildir("alice") / "tmp") == 0);
}

TEST_CASE("maildir: a full disk is a temporary failure that leaves nothing behind", "[maildir][faults]") {
    temp_store t;
    REQUIRE(t.deliver({"alice"}, message) == plugin::store_status::ok);  // the Maildir exists
    // RLIMIT_FSIZE makes writes past 64 KiB fail (EFBIG), as a full disk makes them fail with ENOSPC.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    struct sigaction previous {};
    ::sigaction(SIGXFSZ, &ignore, &previous);
    rlimit old{};
    ::getrlimit(RLIMIT_FSIZE, &old);
    rlimit small = old;
    small.rlim_cur = 64 * 1024;
    ::setrlimit(RLIMIT_FSIZE, &small);
    const auto status = t.deliver({"alice"}, "Subject: big\r\n\r\n" + std::string(300 * 1024, 'x') + "\r\n", 65536);
    ::setrlimit(RLIMIT_FSIZE, &old);
    ::sigaction(SIGXFSZ, &previous, nullptr);
    CHECK(status == plugin::store_status::tempfail);
    CHECK(count_files(t.maildir("alice") / "tmp") == 0);  // the partial file is gone
    CHECK(count_files(t.maildir("alice") / "new") == 1);  // only the first message
}

TEST_CASE("maildir: hostile user names never reach the file system", "[maildir][security]") {
    temp_store t;
    for (const char* user : {"", "..", "../etc", "a/b", ".hidden", "nul\0x", "tab\tuser"}) {
        const std::string name(user, std::strlen(user) + (std::string_view(user) == "nul" ? 2 : 0));
        INFO(name);
        CHECK(t.deliver({name}, message) == plugin::store_status::permfail);
        CHECK(run(t.store().open(name)).status == plugin::store_status::not_found);
    }
    CHECK_FALSE(fs::exists(t.root));  // nothing was created anywhere
}

TEST_CASE("maildir: files other programs left behind, and a Maildir that is not a directory", "[maildir][faults]") {
    temp_store t;
    REQUIRE(t.deliver({"alice"}, message) == plugin::store_status::ok);
    // A message another program delivered with a name of its own (no sizes), and junk to ignore.
    std::ofstream(t.maildir("alice") / "cur" / "garbage name without fields") << "Subject: x\n\nbody\n";
    std::ofstream(t.maildir("alice") / "cur" / ".hidden") << "not a message";
    fs::create_directory(t.maildir("alice") / "cur" / "a directory");
    {
        auto drop = run(t.store().open("alice")).drop;
        REQUIRE(drop->messages().size() == 2);
        // Names sort by their delivery time; one without a number sorts first.
        const auto& odd = drop->messages()[0];
        // Spaces are not allowed in a UIDL (RFC 1939 7): such a name is hashed instead.
        CHECK(odd.uid.size() == 17);
        CHECK(odd.uid.front() == 'h');
        CHECK(odd.size == std::string("Subject: x\r\n\r\nbody\r\n").size());  // counted, since not in the name
        CHECK(t.read(*drop, 0) == "Subject: x\r\n\r\nbody\r\n");
    }
    // A "Maildir" that is a plain file: an error for that user, nothing else.
    fs::create_directories(t.root / "mallory");
    std::ofstream(t.root / "mallory" / "Maildir") << "not a directory";
    CHECK(run(t.store().open("mallory")).status == plugin::store_status::permfail);
    CHECK(t.deliver({"mallory"}, message) == plugin::store_status::permfail);
    CHECK(t.deliver({"alice"}, message) == plugin::store_status::ok);
}

TEST_CASE("maildir: messages of one second are listed in delivery order, padded microseconds or not", "[maildir]") {
    temp_store t;
    REQUIRE(t.deliver({"alice"}, message) == plugin::store_status::ok);  // makes the Maildir; removed below
    for (const auto& entry : fs::directory_iterator(t.maildir("alice") / "new")) {
        fs::remove(entry.path());
    }
    // As other programs name them: microseconds without padding, so text order is not delivery order.
    const auto cur = t.maildir("alice") / "cur";
    std::ofstream(cur / "1700000000.M123456P7Q2.host:2,") << "Subject: third\n\n";
    std::ofstream(cur / "1700000000.M82898P7Q1.host:2,") << "Subject: second\n\n";
    std::ofstream(cur / "1700000000.P7Q0.host:2,") << "Subject: first\n\n";  // no M field: the second's start
    std::ofstream(cur / "1699999999.M999999P7Q9.host:2,") << "Subject: earliest\n\n";
    auto drop = run(t.store().open("alice")).drop;
    REQUIRE(drop->messages().size() == 4);
    CHECK(t.read(*drop, 0) == "Subject: earliest\r\n\r\n");
    CHECK(t.read(*drop, 1) == "Subject: first\r\n\r\n");
    CHECK(t.read(*drop, 2) == "Subject: second\r\n\r\n");
    CHECK(t.read(*drop, 3) == "Subject: third\r\n\r\n");
}

TEST_CASE("maildir: a message without a final line end is counted as POP3 sends it, with CRLF added", "[maildir]") {
    temp_store t;
    const std::string unterminated = "Subject: x\r\n\r\nno final line end";
    REQUIRE(t.deliver({"alice"}, unterminated) == plugin::store_status::ok);
    auto opened = run(t.store().open("alice"));
    REQUIRE(opened.status == plugin::store_status::ok);
    CHECK(opened.drop->messages().at(0).size == unterminated.size() + 2);
}
