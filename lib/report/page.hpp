// The HTML templates of zoo report's pages.
#pragma once

namespace zoo::report {

// The labels report's page; {{FILES}} stands for the URL of its
// REPORT_files folder, relative to the page.
const char* labels_page_template();

}  // namespace zoo::report
