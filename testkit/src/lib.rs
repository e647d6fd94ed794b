//! test harness: real servers with per-test isolation, services on port 0, assert_eventually
