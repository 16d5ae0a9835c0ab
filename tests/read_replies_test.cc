// How vh5fs sizes read requests from the largest pipe it can get
// (fs/read_replies.h), against libfuse's own splice test.
#include "read_replies.h"

#include <unistd.h>

#include <boost/test/unit_test.hpp>

using vh5fs::ReadReplies;

BOOST_AUTO_TEST_SUITE(read_replies)

BOOST_AUTO_TEST_CASE(the_default_one_mib_pipe_gives_requests_that_splice_in_a_few_runs) {
  BOOST_TEST_REQUIRE(::sysconf(_SC_PAGESIZE) == 4096);
  ReadReplies replies(1 << 20);
  BOOST_TEST(replies.max_read() == 896u << 10);
  // libfuse: 4096 * (runs + 2) + 16 + bytes must fit in the 1 MiB pipe.
  BOOST_TEST(replies.Splices(1, 896 << 10));
  BOOST_TEST(replies.Splices(29, 896 << 10));
  BOOST_TEST(!replies.Splices(30, 896 << 10));
  BOOST_TEST(!replies.Splices(1, 1 << 20));  // what 1 MiB requests never did
  BOOST_TEST(replies.Splices(252, 4096));
  BOOST_TEST(!replies.Splices(253, 4096));
}

BOOST_AUTO_TEST_CASE(a_larger_pipe_keeps_one_mib_requests) {
  ReadReplies replies(4 << 20);
  BOOST_TEST(replies.max_read() == 1u << 20);
  BOOST_TEST(replies.Splices(256, 1 << 20));
}

BOOST_AUTO_TEST_CASE(a_pipe_too_small_to_splice_much_copies_one_mib_requests) {
  ReadReplies replies(256 << 10);
  BOOST_TEST(replies.max_read() == 1u << 20);
  BOOST_TEST(!replies.Splices(1, 1 << 20));
  BOOST_TEST(replies.Splices(1, 64 << 10));
}

BOOST_AUTO_TEST_SUITE_END()
