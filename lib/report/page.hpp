// The HTML templates of zoo report's pages.
#pragma once

namespace zoo::report {

// The CSS rules every page shares: each template's {{STYLE}}.
const char* page_style();

// The labels report's page; {{FILES}} stands for the URL of its
// REPORT_files folder, relative to the page.
const char* labels_page_template();

// The training report's page; {{DATA}} stands for the run's data as one
// JSON object (a JavaScript expression).
const char* train_page_template();

// zoo eval --html's page; {{FILES}} as for the labels report.
const char* eval_page_template();

}  // namespace zoo::report
