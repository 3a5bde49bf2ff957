// The metrics registry: its exposition in the Prometheus text format 0.0.4, byte for byte (HELP, TYPE, label
// escaping, histogram buckets, sums and counts), what registration refuses, and counts that add up under
// concurrent increments. The framework's own families (instruments.hpp) are checked for their bounded labels.
#include "mailwright/metrics/registry.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "mailwright/metrics/instruments.hpp"

using namespace mailwright::metrics;

TEST_CASE("metrics: counters with labels, children sorted by their values", "[metrics]") {
    registry r;
    auto& logins = r.add_counter("mailwright_test_logins_total", "Logins.", {"mechanism", "outcome"});
    logins.with({"PLAIN", "ok"}).inc();
    logins.with({"LOGIN", "failed"}).inc(3);
    logins.with({"PLAIN", "ok"}).inc();
    CHECK(&logins.with({"PLAIN", "ok"}) == &logins.with({"PLAIN", "ok"}));
    CHECK(r.expose() ==
          "# HELP mailwright_test_logins_total Logins.\n"
          "# TYPE mailwright_test_logins_total counter\n"
          "mailwright_test_logins_total{mechanism=\"LOGIN\",outcome=\"failed\"} 3\n"
          "mailwright_test_logins_total{mechanism=\"PLAIN\",outcome=\"ok\"} 2\n");
}

TEST_CASE("metrics: a family without labels, and one with no children yet", "[metrics]") {
    registry r;
    r.add_counter("mailwright_test_a_total", "A.").with({}).inc(5);
    r.add_gauge("mailwright_test_b", "B.", {"listener"});
    CHECK(r.expose() ==
          "# HELP mailwright_test_a_total A.\n"
          "# TYPE mailwright_test_a_total counter\n"
          "mailwright_test_a_total 5\n"
          "# HELP mailwright_test_b B.\n"
          "# TYPE mailwright_test_b gauge\n");
}

TEST_CASE("metrics: label values and help are escaped", "[metrics]") {
    registry r;
    r.add_gauge("mailwright_test_g", "Back\\slash and\nline.", {"listener"}).with({"a\"b\\c\nd"}).set(-2);
    CHECK(r.expose() ==
          "# HELP mailwright_test_g Back\\\\slash and\\nline.\n"
          "# TYPE mailwright_test_g gauge\n"
          "mailwright_test_g{listener=\"a\\\"b\\\\c\\nd\"} -2\n");
    CHECK(escape_label_value("plain") == "plain");
    CHECK(escape_help("say \"hi\"") == "say \"hi\"");  // quotes stay in help
}

TEST_CASE("metrics: gauges go up and down", "[metrics]") {
    gauge g;
    g.inc();
    g.inc(4);
    g.dec(2);
    CHECK(g.value() == 3);
    g.set(-7);
    CHECK(g.value() == -7);
}

TEST_CASE("metrics: a histogram's buckets are cumulative, le inclusive, +Inf equals the count", "[metrics]") {
    registry r;
    auto& h = r.add_histogram("mailwright_test_seconds", "Time.", {"plugin"}, {0.1, 1, 2.5});
    auto& child = h.with({"x"});
    for (const double v : {0.05, 0.1, 0.5, 7.0}) {
        child.observe(v);
    }
    CHECK(r.expose() ==
          "# HELP mailwright_test_seconds Time.\n"
          "# TYPE mailwright_test_seconds histogram\n"
          "mailwright_test_seconds_bucket{plugin=\"x\",le=\"0.1\"} 2\n"
          "mailwright_test_seconds_bucket{plugin=\"x\",le=\"1\"} 3\n"
          "mailwright_test_seconds_bucket{plugin=\"x\",le=\"2.5\"} 3\n"
          "mailwright_test_seconds_bucket{plugin=\"x\",le=\"+Inf\"} 4\n"
          "mailwright_test_seconds_sum{plugin=\"x\"} 7.65\n"
          "mailwright_test_seconds_count{plugin=\"x\"} 4\n");
}

TEST_CASE("metrics: a histogram without labels", "[metrics]") {
    registry r;
    r.add_histogram("mailwright_test_seconds", "Time.", {}, {0.25}).with({}).observe(0.25);
    CHECK(r.expose() ==
          "# HELP mailwright_test_seconds Time.\n"
          "# TYPE mailwright_test_seconds histogram\n"
          "mailwright_test_seconds_bucket{le=\"0.25\"} 1\n"
          "mailwright_test_seconds_bucket{le=\"+Inf\"} 1\n"
          "mailwright_test_seconds_sum 0.25\n"
          "mailwright_test_seconds_count 1\n");
}

TEST_CASE("metrics: a computed gauge is asked at each scrape", "[metrics]") {
    registry r;
    int calls = 0;
    r.add_computed_gauge("mailwright_test_queue", "Queue.", [&] { return ++calls * 1.5; });
    CHECK(r.expose() ==
          "# HELP mailwright_test_queue Queue.\n# TYPE mailwright_test_queue gauge\nmailwright_test_queue 1.5\n");
    CHECK(r.expose().ends_with("mailwright_test_queue 3\n"));
}

TEST_CASE("metrics: sample values", "[metrics]") {
    CHECK(format_value(3) == "3");
    CHECK(format_value(0.25) == "0.25");
    CHECK(format_value(-1) == "-1");
    CHECK(format_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(format_value(std::nan("")) == "NaN");
}

TEST_CASE("metrics: registration refuses what a scraper would", "[metrics]") {
    registry r;
    r.add_gauge("mailwright_test_g", "G.");
    CHECK_THROWS_AS(r.add_gauge("mailwright_test_g", "Twice."), std::invalid_argument);
    CHECK_THROWS_AS(r.add_gauge("2bad", "Digit first."), std::invalid_argument);
    CHECK_THROWS_AS(r.add_gauge("bad-name", "Dash."), std::invalid_argument);
    CHECK_THROWS_AS(r.add_gauge("", "Empty."), std::invalid_argument);
    CHECK_THROWS_AS(r.add_counter("mailwright_test_count", "No _total."), std::invalid_argument);
    CHECK_THROWS_AS(r.add_gauge("mailwright_test_l1", "Label.", {"__reserved"}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_gauge("mailwright_test_l2", "Label.", {"a:b"}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_gauge("mailwright_test_l3", "Label.", {"a", "a"}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_histogram("mailwright_test_h1", "H.", {"le"}, {1}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_histogram("mailwright_test_h2", "H.", {}, {1, 1}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_histogram("mailwright_test_h3", "H.", {}, {2, 1}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_histogram("mailwright_test_h4", "H.", {}, {std::numeric_limits<double>::infinity()}),
                    std::invalid_argument);
    r.add_gauge("mailwright:test_ok", "Colons are allowed in names.", {"_x1"});
    auto& f = r.add_counter("mailwright_test_arity_total", "A.", {"a", "b"});
    CHECK_THROWS_AS(f.with({"only one"}), std::invalid_argument);
}

TEST_CASE("metrics: concurrent increments and new children add up", "[metrics]") {
    registry r;
    auto& c = r.add_counter("mailwright_test_total", "T.", {"listener"});
    auto& h = r.add_histogram("mailwright_test_seconds", "S.", {"listener"}, {0.5});
    constexpr int threads = 4;
    constexpr int each = 20000;
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
        running.emplace_back([&, t] {
            for (int i = 0; i < each; ++i) {
                const std::string_view name = (i + t) % 2 == 0 ? "even" : "odd";  // made by whichever thread is first
                c.with({name}).inc();
                h.with({name}).observe(1);
            }
        });
    }
    for (auto& t : running) {
        t.join();
    }
    CHECK(c.with({"even"}).value() + c.with({"odd"}).value() == threads * each);
    const auto even = h.with({"even"}).collect();
    const auto odd = h.with({"odd"}).collect();
    CHECK(even.cumulative.back() + odd.cumulative.back() == threads * each);
    CHECK(even.sum + odd.sum == threads * each);
}

TEST_CASE("metrics: the framework's families take only bounded label values", "[metrics]") {
    count_login("GSSAPI", login_outcome::failed);  // not one the framework implements
    count_login("PLAIN", login_outcome::tempfail);
    const auto text = process_registry().expose();
    CHECK(text.find("mailwright_logins_total{mechanism=\"other\",outcome=\"failed\"} 1\n") != std::string::npos);
    CHECK(text.find("mailwright_logins_total{mechanism=\"PLAIN\",outcome=\"tempfail\"} 1\n") != std::string::npos);
    CHECK(text.find("GSSAPI") == std::string::npos);
    CHECK(outcome_of_reply("250 2.0.0 OK") == message_outcome::accepted);
    CHECK(outcome_of_reply("451 4.3.0 try later") == message_outcome::tempfailed);
    CHECK(outcome_of_reply("554 5.7.1 no") == message_outcome::refused);
    CHECK(outcome_of_reply("") == message_outcome::refused);
}
