// The style every report page shares; each page's template adds its own
// rules after it.
#include "report/page.hpp"

namespace zoo::report {

const char* page_style() {
  return R"zoo_css(body { font: 14px/1.4 system-ui, sans-serif; margin: 0 24px 40px; color: #222; background: #fafafa; }
h1 { font-size: 20px; margin: 18px 0 4px; } h2 { font-size: 16px; margin: 22px 0 8px; }
.muted { color: #666; } .summary span { margin-right: 18px; }
.row { display: flex; gap: 32px; flex-wrap: wrap; align-items: flex-start; }
table { border-collapse: collapse; background: #fff; } td, th { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; }
th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.cm th { font-weight: normal; font-size: 12px; }
svg text { font: 11px system-ui, sans-serif; fill: #444; }
.card { background: #fff; border: 1px solid #ddd; border-radius: 4px; overflow: hidden; }
.card img { width: 100%; object-fit: contain; background: #222; display: block; }
.card .cap { font-size: 12px; word-break: break-all; }
.pager { display: flex; gap: 10px; align-items: center; })zoo_css";
}

}  // namespace zoo::report
