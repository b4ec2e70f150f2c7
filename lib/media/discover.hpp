// Input discovery: turns the INPUT arguments of a run (files, folders, list
// files, "-") into the ordered list of image paths to process.
#pragma once

#include <string>
#include <vector>

namespace zoo::media {

// True for the file extensions zoo treats as images (case-insensitive):
// jpg, jpeg, jpe, png, bmp, dib, webp, tif, tiff, pbm, pgm, ppm, pnm, pfm, sr, ras, exr, hdr, pic.
bool has_image_extension(const std::string& path);

// Expands INPUT arguments in order:
// - a folder is walked recursively, whatever its name (a folder "album.jpg"
//   is a folder); files with an image extension are taken,
//   sorted by path (byte order) so the order is stable across machines;
//   hidden entries (".name") are skipped;
// - anything else (a file, or a path that does not exist) is taken as is, so
//   that a missing or unreadable input becomes an error record of the run,
//   not a silent omission.
// Throws zoo::Error(io) if a folder cannot be listed.
std::vector<std::string> discover_inputs(const std::vector<std::string>& args);

// Reads a list file (one path per line; blank lines and lines starting with
// '#' are skipped; "-" reads stdin). Paths are taken as written.
// Throws zoo::Error(io) if the file cannot be read.
std::vector<std::string> read_list_file(const std::string& path);

}  // namespace zoo::media
