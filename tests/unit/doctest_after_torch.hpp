#pragma once

// doctest for a test file that includes Torch: c10's logging (glog) defines
// CHECK, CHECK_EQ and the like, which would take doctest's names (a failed
// check would abort the run instead of failing the test). Include Torch
// first, then this.
#undef CHECK
#undef CHECK_EQ
#undef CHECK_NE
#undef CHECK_LE
#undef CHECK_LT
#undef CHECK_GE
#undef CHECK_GT
#include <doctest/doctest.h>
