// A labelled image set: from a class-per-folder tree, or a CSV/JSONL list of
// (filepath, label) (io/labelled_list.hpp). zoo train's data and zoo eval's
// class truth.
#pragma once

#include <string>
#include <vector>

namespace zoo::media {

struct Sample {
  std::string path;
  int label = 0;  // index into Dataset::classes
};

struct Dataset {
  std::string source;                // the folder or list file it came from
  std::vector<std::string> classes;  // sorted names
  std::vector<Sample> samples;       // in a stable order (by class, then path)
};

// Reads a dataset:
// - a folder: each subfolder is a class (names sorted); images under it,
//   recursively, are its samples (files directly in the folder are ignored);
// - a .csv file: lines `filepath,label` (a first line of column names such
//   as `filepath,label` or `path,class`, naming no file, is skipped; so is
//   a UTF-8 byte order mark; quotes around a field are removed);
// - a .jsonl file: objects with "filepath" and "label" (a string, or a
//   FiftyOne Classification {"label": ...}).
// List paths are relative to the list file's folder (io/labelled_list.hpp). With `classes`
// (a training set's), every label must be one of them and the indices
// follow that list. Throws zoo::Error(data) naming the file and line.
Dataset load_dataset(const std::string& path, const std::vector<std::string>* classes = nullptr);

}  // namespace zoo::media
