// A line chart as a standalone SVG file, written directly (no plotting dependency): one line per
// series, a marker and a one-standard-deviation bar per point, axes with round ticks, a legend.
#pragma once
#include <string>
#include <vector>

namespace llmkit::bench {

struct Point {
  double x, y, err;
};
struct Series {
  std::string label;
  std::vector<Point> points;
};

// Temporary file + rename. Throws Error("io") when it cannot be written.
void write_svg_plot(const std::string& path, const std::string& title, const std::string& x_label,
                    const std::string& y_label, const std::vector<Series>& series);

}  // namespace llmkit::bench
