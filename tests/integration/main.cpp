// The integration tests' main: before the first test, this process enters a
// mount namespace of its own and starts its own journald there
// (tests/support/journald.hpp), so the tests never touch the host's; after
// each test, journald is put back to its defaults for the next one. ctest
// runs every test as a process of its own (gtest_discover_tests), so each
// gets a fresh journald and journal; listing the tests (--gtest_list_tests,
// the discovery at build time) sets nothing up.
//
// Thread: main; the namespace is entered before any other thread exists.

#include <gtest/gtest.h>

#include <cstdio>
#include <exception>

#include "journald.hpp"

namespace {

class PrivateJournaldEnvironment : public ::testing::Environment {
public:
    void SetUp() override {
        try {
            iot::test::journald::set_up_for_tests();
        } catch (const std::exception& e) {
            GTEST_FAIL() << "cannot set up the test's own journald: " << e.what();
        }
    }
};

class RestoreJournaldAfterEachTest : public ::testing::EmptyTestEventListener {
public:
    void OnTestEnd(const ::testing::TestInfo& test) override {
        if (test.result() != nullptr && test.result()->Failed()) {
            std::fprintf(stderr, "\n===== the test's journald: its log =====\n%s\n===== end =====\n",
                         iot::test::journald::PrivateJournald::log_tail().c_str());
        }
        try {
            iot::test::journald::restore_defaults();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "cannot restore the test's journald after %s.%s: %s\n", test.test_suite_name(),
                         test.name(), e.what());
        }
    }
};

}  // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    ::testing::AddGlobalTestEnvironment(new PrivateJournaldEnvironment);  // gtest owns it
    ::testing::UnitTest::GetInstance()->listeners().Append(new RestoreJournaldAfterEachTest);
    return RUN_ALL_TESTS();
}
