// imf::field_end and imf::parse_field (imf/header.hpp): the header block as message filters see it.
#include <catch2/catch.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "mailwright/imf/header.hpp"

using namespace mailwright;

namespace {

std::vector<std::string> fields_of(std::string_view block) {
    std::vector<std::string> out;
    for (std::size_t at = 0; at < block.size();) {
        const std::size_t end = imf::field_end(block, at);
        out.emplace_back(block.substr(at, end - at));
        at = end;
    }
    return out;
}

}  // namespace

TEST_CASE("imf: a field and its name, value and raw octets", "[imf]") {
    const auto f = imf::parse_field("Subject:  Hello there \r\n");
    CHECK_FALSE(f.malformed);
    CHECK(f.name == "Subject");
    CHECK(f.value == "Hello there");
    CHECK(f.raw == "Subject:  Hello there \r\n");
    CHECK(f.is("subject"));
    CHECK(f.is("SUBJECT"));
    CHECK_FALSE(f.is("Subjec"));
    CHECK(imf::parse_field("X-Empty:\r\n").value.empty());
    CHECK(imf::parse_field("X-Colons: a: b: c\r\n").value == "a: b: c");
}

TEST_CASE("imf: folded lines belong to their field, and the value is unfolded", "[imf]") {
    const std::string block =
        "To: <alice@example.org>,\r\n\t<bob@example.org>\r\nSubject: one\r\n  two\r\n three\r\n\r\nbody\r\n";
    const auto fields = fields_of(block);
    REQUIRE(fields.size() == 4);
    CHECK(fields[0] == "To: <alice@example.org>,\r\n\t<bob@example.org>\r\n");
    CHECK(fields[1] == "Subject: one\r\n  two\r\n three\r\n");
    CHECK(fields[2] == "\r\n");
    CHECK(fields[3] == "body\r\n");
    // RFC 5322 2.2.3: unfolding removes the line ends, and keeps the white space after them.
    CHECK(imf::parse_field(fields[0]).value == "<alice@example.org>,\t<bob@example.org>");
    CHECK(imf::parse_field(fields[1]).value == "one  two three");
    CHECK(imf::is_block_end(fields[2]));
}

TEST_CASE("imf: the empty line ends the block even when white space follows it", "[imf]") {
    const auto fields = fields_of("A: b\r\n\r\n\tindented body\r\n");
    REQUIRE(fields.size() == 3);
    CHECK(fields[1] == "\r\n");
    CHECK(fields[2] == "\tindented body\r\n");
    CHECK(fields_of("A: b\n\n x\n") == std::vector<std::string>{"A: b\n", "\n", " x\n"});
}

TEST_CASE("imf: a last line without its line end ends at the block's end", "[imf]") {
    CHECK(fields_of("A: b\r\nB: c") == std::vector<std::string>{"A: b\r\n", "B: c"});
    CHECK(fields_of("A: b\r\n\tc") == std::vector<std::string>{"A: b\r\n\tc"});
    CHECK(imf::parse_field("B: c").value == "c");
}

TEST_CASE("imf: 8-bit and UTF-8 values are kept octet for octet (RFC 6532)", "[imf]") {
    const auto utf8 = imf::parse_field(
        "Subject: Gr\xc3\xbc\xc3\x9f"
        "e \xe6\x97\xa5\xe6\x9c\xac\r\n");
    CHECK_FALSE(utf8.malformed);
    CHECK(utf8.value ==
          "Gr\xc3\xbc\xc3\x9f"
          "e \xe6\x97\xa5\xe6\x9c\xac");
    const auto latin1 = imf::parse_field("X-Old: caf\xe9\r\n");  // not UTF-8: kept all the same
    CHECK_FALSE(latin1.malformed);
    CHECK(latin1.value == "caf\xe9");
    // A name is ASCII: 8-bit octets there make the field malformed.
    CHECK(imf::parse_field("Subj\xc3\xa9t: x\r\n").malformed);
}

TEST_CASE("imf: malformed lines are shown, marked, and never mistaken for a field", "[imf]") {
    for (const std::string_view line : {"no colon here\r\n", ": empty name\r\n", "Bad Name: x\r\n",
                                        "Subject : obsolete white space before the colon\r\n", "\r\nX: y\r\n"}) {
        CAPTURE(line);
        const auto f = imf::parse_field(line);
        CHECK(f.malformed);
        CHECK(f.name.empty());
        CHECK(f.raw == line);
    }
    // The colon must be on the field's first line.
    CHECK(imf::parse_field("Name\r\n\t: value\r\n").malformed);
}

TEST_CASE("imf: every octet of any block belongs to exactly one field", "[imf]") {
    const std::string block = "A: 1\r\n\tB\nC:2\r\r\n \r\n\r\n\r\nD";
    std::string joined;
    for (const auto& f : fields_of(block)) {
        CHECK_FALSE(f.empty());
        joined += f;
    }
    CHECK(joined == block);
}
