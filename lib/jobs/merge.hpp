// zoo merge OUTPUT: finds OUTPUT's parts beside it, checks that every
// shard of the job is done and made from the same input list, and asks the
// parts' output format (outputs/format.hpp) to join them into the file one
// unsharded run would have written.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "outputs/parts.hpp"

namespace zoo::jobs {

struct MergeOptions {
  std::string output;
  std::string index;          // .npy: the --index the shards were given ("" = OUT.paths.txt)
  int shards = 0;             // N to merge when parts of several N are there (0 = the only one)
  bool remove_parts = false;  // delete the parts and markers once OUTPUT is written
};

struct MergeSummary {
  outputs::Shard shard;                // count = the shards merged
  std::string format;                  // the parts' output format
  std::string unit;                    // what `records` counts: records, rows, images
  uint64_t inputs = 0;                 // of the whole job
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t records = 0;                // jsonl lines, csv rows, COCO images, or .npy rows
  std::vector<std::string> written;    // the files written
  std::vector<std::string> removed;    // with remove_parts
};

// Throws zoo::Error(data) naming the missing shards, a part without its
// marker, or parts made from different input lists; zoo::Error(io) for
// files that cannot be read or written. OUTPUT is replaced whole.
MergeSummary merge_parts(const MergeOptions& options);

}  // namespace zoo::jobs
