// The SDK's base maildrop (plugin/listed_maildrop.hpp): the list as given, the deletion marks, and commit()
// handing the marked indexes to the store.
#include "mailwright/plugin/listed_maildrop.hpp"

#include <catch2/catch.hpp>

#include "support.hpp"

namespace mw = mailwright::plugin;

namespace {

class recording_drop final : public mw::listed_maildrop {
  public:
    explicit recording_drop(std::size_t count) : listed_maildrop(list(count)) {}
    asio::awaitable<mw::open_message_result> open_message(std::size_t, std::optional<std::size_t>) override {
        co_return mw::open_message_result{mw::store_status::not_found, nullptr};
    }

    std::vector<std::vector<std::size_t>> removed;  // each call's indexes
    mw::store_status answer = mw::store_status::ok;

  protected:
    asio::awaitable<mw::store_status> remove(std::vector<std::size_t> indexes) override {
        removed.push_back(std::move(indexes));
        co_return answer;
    }

  private:
    static std::vector<mw::message_info> list(std::size_t count) {
        std::vector<mw::message_info> info;
        for (std::size_t i = 0; i < count; ++i) {
            info.push_back({"uid" + std::to_string(i), 100 + i});
        }
        return info;
    }
};

}  // namespace

TEST_CASE("listed_maildrop: the list as the store gave it", "[plugin][maildrop]") {
    recording_drop drop(3);
    REQUIRE(drop.messages().size() == 3);
    CHECK(drop.messages()[2].uid == "uid2");
    CHECK(drop.messages()[2].size == 102);
}

TEST_CASE("listed_maildrop: marks, undelete_all, and indexes outside the list", "[plugin][maildrop]") {
    recording_drop drop(3);
    drop.mark_deleted(0);
    drop.mark_deleted(2);
    drop.mark_deleted(7);  // ignored
    CHECK(drop.is_deleted(0));
    CHECK_FALSE(drop.is_deleted(1));
    CHECK(drop.is_deleted(2));
    CHECK_FALSE(drop.is_deleted(7));
    drop.undelete_all();
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK_FALSE(drop.is_deleted(i));
    }
}

TEST_CASE("listed_maildrop: commit hands the marked indexes, ascending, and clears them", "[plugin][maildrop]") {
    recording_drop drop(5);
    drop.mark_deleted(3);
    drop.mark_deleted(1);
    drop.mark_deleted(3);
    CHECK(mailwright::test::run(drop.commit()) == mw::store_status::ok);
    REQUIRE(drop.removed.size() == 1);
    CHECK(drop.removed[0] == std::vector<std::size_t>{1, 3});
    CHECK_FALSE(drop.is_deleted(1));
    CHECK(drop.messages().size() == 5);  // numbers never shift during a session
}

TEST_CASE("listed_maildrop: nothing marked, nothing asked", "[plugin][maildrop]") {
    recording_drop drop(2);
    CHECK(mailwright::test::run(drop.commit()) == mw::store_status::ok);
    CHECK(drop.removed.empty());
}

TEST_CASE("listed_maildrop: a failed removal keeps the marks and says so", "[plugin][maildrop]") {
    recording_drop drop(2);
    drop.answer = mw::store_status::tempfail;
    drop.mark_deleted(1);
    CHECK(mailwright::test::run(drop.commit()) == mw::store_status::tempfail);
    CHECK(drop.is_deleted(1));
}
