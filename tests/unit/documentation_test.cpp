// The operator's documentation must keep up with the code: every key the
// loader accepts is explained in the man page, the example config and the
// README; every event the daemon logs has one MESSAGE_ID and one journal
// catalog entry, and the catalog and the README's troubleshooting table agree.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "iot-amqpd/config.hpp"
#include "iot-amqpd/message_ids.hpp"

namespace iot {
namespace {

std::string read_source_file(const std::string& relative) {
    std::ifstream in(std::string(IOT_SOURCE_DIR) + "/" + relative);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string leaf(const std::string& path) { return path.substr(path.rfind('.') + 1); }

// roff escapes '-' and may split words with font changes; the keys have
// underscores only, so a plain search after removing "\\-" and "\\f?" suffices.
std::string plain_roff(std::string text) {
    for (const std::string_view escape : {"\\fB", "\\fI", "\\fR", "\\fP", "\\&"}) {
        for (auto pos = text.find(escape); pos != std::string::npos; pos = text.find(escape))
            text.erase(pos, escape.size());
    }
    for (auto pos = text.find("\\-"); pos != std::string::npos; pos = text.find("\\-")) text.erase(pos, 1);
    return text;
}

// Every event name src/ logs with: the string literals inside each
// LogContext's braces, "LogContext{"connected", group}" and
// "const LogContext ctx{"connecting", ...}" alike, both names of a ternary
// ("auth ? "auth_failed" : "disconnected"") included.
std::set<std::string> events_logged_in_source() {
    const std::regex context(R"(LogContext\s*\w*\s*\{([^}]*)\})");
    const std::regex name(R"re("([a-z_]+)")re");
    std::set<std::string> events;
    const std::filesystem::path src(std::string(IOT_SOURCE_DIR) + "/src");
    for (const auto& entry : std::filesystem::directory_iterator(src)) {
        if (entry.path().extension() != ".cpp") continue;
        const std::string text = read_source_file("src/" + entry.path().filename().string());
        for (std::sregex_iterator it(text.begin(), text.end(), context), end; it != end; ++it) {
            const std::string inside = (*it)[1].str();
            for (std::sregex_iterator n(inside.begin(), inside.end(), name); n != end; ++n)
                events.insert((*n)[1].str());
        }
    }
    return events;
}

// packaging/iot-amqpd.catalog: id -> entry text (header lines and body, with
// runs of white space made one space so a phrase may wrap). '#' lines are
// comments, as journalctl --update-catalog reads them.
std::map<std::string, std::vector<std::string>> catalog_entries() {
    std::map<std::string, std::vector<std::string>> entries;
    std::istringstream lines(read_source_file("packaging/iot-amqpd.catalog"));
    std::string* current = nullptr;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind('#', 0) == 0) continue;
        if (line.rfind("-- ", 0) == 0) {
            auto& texts = entries[line.substr(3)];
            texts.emplace_back();
            current = &texts.back();
            continue;
        }
        if (current != nullptr) *current += line + "\n";
    }
    return entries;
}

std::string one_line(const std::string& text) {
    std::string out;
    for (const char c : text) {
        const bool space = c == ' ' || c == '\n' || c == '\t';
        if (space && (out.empty() || out.back() == ' ')) continue;
        out += space ? ' ' : c;
    }
    return out;
}

// The `backquoted` pieces of a Markdown table cell.
std::vector<std::string> backquoted(const std::string& cell) {
    std::vector<std::string> pieces;
    for (auto open = cell.find('`'); open != std::string::npos; open = cell.find('`', open)) {
        const auto close = cell.find('`', open + 1);
        if (close == std::string::npos) break;
        pieces.push_back(cell.substr(open + 1, close - open - 1));
        open = close + 1;
    }
    return pieces;
}

struct TroubleshootingRow {
    std::vector<std::string> events;  // the IOT_EVENT=<event> names in the symptom column
    std::string remedy;               // the "what to do" column
};

// README.md's "## Troubleshooting" table, rows after the header and the rule.
std::vector<TroubleshootingRow> troubleshooting_rows() {
    const std::string readme = read_source_file("README.md");
    const auto start = readme.find("## Troubleshooting");
    const auto end = readme.find("\n## ", start + 1);
    std::istringstream lines(readme.substr(start, end - start));
    const std::regex event(R"(IOT_EVENT=([a-z_]+))");
    std::vector<TroubleshootingRow> rows;
    int table_line = 0;
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("| ", 0) != 0) continue;
        if (++table_line <= 2) continue;  // the header and the | --- | rule
        std::vector<std::string> cells;
        std::size_t from = 1;
        for (auto bar = line.find(" |", from); bar != std::string::npos; bar = line.find(" |", from)) {
            cells.push_back(line.substr(from, bar - from));
            from = bar + 2;
        }
        if (cells.size() != 3) {
            ADD_FAILURE() << "a troubleshooting row without 3 cells: " << line;
            continue;
        }
        TroubleshootingRow row;
        for (std::sregex_iterator it(cells[0].begin(), cells[0].end(), event), stop; it != stop; ++it)
            row.events.push_back((*it)[1].str());
        row.remedy = cells[2];
        rows.push_back(std::move(row));
    }
    return rows;
}

// ARCHITECTURE.md: each class says which thread owns it ("Thread: ..." in the
// header's leading comment). Issue 15 found JournaldSink and StdoutSink
// silent, though several groups share stdout.
TEST(Documentation, EveryHeaderWithAClassStatesItsThreadOwnership) {
    const std::filesystem::path include(std::string(IOT_SOURCE_DIR) + "/include/iot-amqpd");
    std::size_t checked = 0;
    for (const auto& entry : std::filesystem::directory_iterator(include)) {
        const std::string relative = "include/iot-amqpd/" + entry.path().filename().string();
        const std::string text = read_source_file(relative);
        std::istringstream lines(text);
        bool declares_class = false;
        for (std::string line; std::getline(lines, line);)
            if (line.rfind("class ", 0) == 0 && line.find(';') == std::string::npos) declares_class = true;
        if (!declares_class) continue;
        ++checked;
        const std::string head = text.substr(0, text.find("#pragma once"));
        EXPECT_NE(head.find("Thread"), std::string::npos) << relative << " declares a class but not its thread";
    }
    EXPECT_GE(checked, 20U);
}

TEST(Documentation, LoaderAcceptsAKnownSetOfKeys) {
    const auto keys = accepted_config_keys();
    EXPECT_GE(keys.size(), 30U);
    EXPECT_NE(std::find(keys.begin(), keys.end(), "defaults.reconnect.jitter"), keys.end());
}

TEST(Documentation, ManPageExplainsEveryConfigKey) {
    const std::string man = plain_roff(read_source_file("packaging/iot-amqpd.yaml.5"));
    ASSERT_FALSE(man.empty());
    for (const auto& key : accepted_config_keys()) EXPECT_NE(man.find(leaf(key)), std::string::npos) << key;
}

TEST(Documentation, ExampleConfigShowsEveryConfigKey) {
    const std::string example = read_source_file("etc/iot-amqpd.yaml");
    ASSERT_FALSE(example.empty());
    for (const auto& key : accepted_config_keys()) EXPECT_NE(example.find(leaf(key) + ":"), std::string::npos) << key;
}

TEST(Documentation, ManPageListsEveryCommandLineOption) {
    const std::string man = plain_roff(read_source_file("packaging/iot-amqpd.8"));
    for (const char* option : {"--config", "--check-config", "--log-level", "--log-target", "--version", "--help"})
        EXPECT_NE(man.find(option), std::string::npos) << option;
    for (const char* field :
         {"IOT_CONSUMER_GROUP", "IOT_CONSUMER_GROUP_ID", "IOT_TOPIC", "IOT_MESSAGE_ID", "IOT_GENERATE_TIME",
          "IOT_PRODUCT_KEY", "IOT_DEVICE_NAME", "IOT_CLIENT_ID", "IOT_PAYLOAD_ENCODING"})
        EXPECT_NE(man.find(field), std::string::npos) << field;
}

// Issue 18: `journalctl MESSAGE_ID=...` finds an event across versions only if
// every event has exactly one id, well-formed, and no two events share one.
TEST(Documentation, EveryLoggedEventHasOneMessageId) {
    std::set<std::string> events;
    std::set<std::string> ids;
    const std::regex id_form("[0-9a-f]{32}");
    for (const auto& [event, id] : kEventMessageIds) {
        EXPECT_TRUE(events.insert(std::string(event)).second) << "event listed twice: " << event;
        EXPECT_TRUE(ids.insert(std::string(id)).second) << "id used twice: " << id;
        EXPECT_TRUE(std::regex_match(std::string(id), id_form)) << event << ": " << id;
        EXPECT_EQ(message_id_for(event), id) << event;
    }
    const auto logged = events_logged_in_source();
    EXPECT_GE(logged.size(), 25U);
    for (const auto& event : logged)
        EXPECT_EQ(events.count(event), 1U) << "src/ logs IOT_EVENT=" << event << " without a MESSAGE_ID";
    for (const auto& event : events)
        EXPECT_EQ(logged.count(event), 1U) << "message_ids.hpp lists " << event << ", which src/ never logs";
    EXPECT_TRUE(message_id_for("no_such_event").empty());
}

// The catalog explains every id in the header, once, and each entry is about
// its own event (it names IOT_EVENT=<event>), so two swapped ids are caught.
TEST(Documentation, CatalogHasOneEntryPerMessageId) {
    const auto entries = catalog_entries();
    ASSERT_FALSE(entries.empty());
    for (const auto& [event, id] : kEventMessageIds) {
        const auto found = entries.find(std::string(id));
        if (found == entries.end()) {
            ADD_FAILURE() << "no catalog entry for " << event << " (" << id << ")";
            continue;
        }
        ASSERT_EQ(found->second.size(), 1U) << "more than one catalog entry for " << event;
        const std::string& text = found->second.front();
        EXPECT_EQ(text.rfind("Subject: ", 0), 0U) << event << ": an entry starts with its Subject: line";
        EXPECT_NE(text.find("\nDefined-By: iot-amqpd\n"), std::string::npos) << event;
        const std::regex names_it("IOT_EVENT=" + std::string(event) + "(?![a-z_])");
        EXPECT_TRUE(std::regex_search(text, names_it)) << "the entry for " << id << " should name IOT_EVENT=" << event;
    }
    for (const auto& entry : entries) {
        const bool known = std::any_of(kEventMessageIds.begin(), kEventMessageIds.end(),
                                       [&entry](const EventMessageId& e) { return e.id == entry.first; });
        EXPECT_TRUE(known) << "the catalog explains " << entry.first << ", which message_ids.hpp does not list";
    }
}

// One source, checked: the README's troubleshooting table and the catalog say
// the same thing. The events a table row names (IOT_EVENT=... in its symptom
// column) are exactly the events whose catalog entry says "What to do:", and
// every `command` the row's "what to do" column gives appears in each of
// those entries too.
TEST(Documentation, TroubleshootingTableAgreesWithTheCatalog) {
    const auto entries = catalog_entries();
    std::set<std::string> with_remedy;
    std::map<std::string, std::string> text_of;
    for (const auto& [event, id] : kEventMessageIds) {
        const auto found = entries.find(std::string(id));
        if (found == entries.end() || found->second.empty()) continue;
        text_of[std::string(event)] = one_line(found->second.front());
        if (found->second.front().find("What to do:") != std::string::npos) with_remedy.insert(std::string(event));
    }
    const auto rows = troubleshooting_rows();
    ASSERT_GE(rows.size(), 10U);
    std::set<std::string> in_table;
    for (const auto& row : rows) {
        for (const auto& event : row.events) {
            in_table.insert(event);
            if (text_of.count(event) == 0) {
                ADD_FAILURE() << "the troubleshooting table names IOT_EVENT=" << event << ", which has no entry";
                continue;
            }
            for (const auto& command : backquoted(row.remedy))
                EXPECT_NE(text_of[event].find(one_line(command)), std::string::npos)
                    << "README says `" << command << "` for " << event << "; its catalog entry does not";
        }
    }
    for (const auto& event : with_remedy)
        EXPECT_EQ(in_table.count(event), 1U) << event << " has a \"What to do:\" in the catalog, no README row";
    for (const auto& event : in_table)
        EXPECT_EQ(with_remedy.count(event), 1U) << event << " is in the README table, its entry has no \"What to do:\"";
}

// The man page shows a real `journalctl MESSAGE_ID=...`; an id written
// anywhere in the documentation must be one from message_ids.hpp.
TEST(Documentation, MessageIdsInTheDocumentationAreTheHeaders) {
    const std::regex documented("MESSAGE_ID=([0-9a-fA-F]{32})");
    std::size_t checked = 0;
    for (const char* file : {"packaging/iot-amqpd.8", "README.md", "ARCHITECTURE.md"}) {
        const std::string text = read_source_file(file);
        for (std::sregex_iterator it(text.begin(), text.end(), documented), end; it != end; ++it) {
            ++checked;
            const std::string id = (*it)[1].str();
            const bool known = std::any_of(kEventMessageIds.begin(), kEventMessageIds.end(),
                                           [&id](const EventMessageId& e) { return e.id == id; });
            EXPECT_TRUE(known) << file << " shows MESSAGE_ID=" << id << ", which message_ids.hpp does not list";
        }
    }
    EXPECT_GE(checked, 1U);
}

}  // namespace
}  // namespace iot
