#include "svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "llmkit/atomic_file.h"

namespace llmkit::bench {
namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

std::string num(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

// A tick step of 1, 2 or 5 times a power of ten giving about `want` intervals over span.
double tick_step(double span, int want) {
  const double raw = span / want, p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

// Series colours that stay apart for colour-blind readers (Okabe-Ito).
constexpr const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};

}  // namespace

void write_svg_plot(const std::string& path, const std::string& title, const std::string& x_label,
                    const std::string& y_label, const std::vector<Series>& series) {
  const double W = 760, H = 460, left = 70, right = 200, top = 40, bottom = 60;
  const double pw = W - left - right, ph = H - top - bottom;
  double x0 = 1e300, x1 = -1e300, y1 = 0;
  for (const auto& s : series)
    for (const auto& p : s.points) x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y1 = std::max(y1, p.y + p.err);
  if (x0 > x1) x0 = 0, x1 = 1;
  if (x1 == x0) x0 -= 1, x1 += 1;
  if (y1 <= 0) y1 = 1;
  const double ys = tick_step(y1, 5), xs = tick_step(x1 - x0, 6);
  y1 = std::ceil(y1 / ys) * ys;
  auto X = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto Y = [&](double y) { return top + ph - y / y1 * ph; };

  std::string o;
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(W) + "\" height=\"" + num(H) + "\" viewBox=\"0 0 " + num(W) +
       " " + num(H) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o += "<text x=\"" + num(W / 2) + "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" + esc(title) + "</text>\n";
  for (double y = 0; y <= y1 + ys / 2; y += ys) {
    o += "<line x1=\"" + num(left) + "\" x2=\"" + num(left + pw) + "\" y1=\"" + num(Y(y)) + "\" y2=\"" + num(Y(y)) +
         "\" stroke=\"#ddd\"/>\n";
    o += "<text x=\"" + num(left - 6) + "\" y=\"" + num(Y(y) + 4) + "\" text-anchor=\"end\">" + num(y) + "</text>\n";
  }
  for (double x = std::ceil(x0 / xs) * xs; x <= x1 + xs / 1e6; x += xs) {
    o += "<line x1=\"" + num(X(x)) + "\" x2=\"" + num(X(x)) + "\" y1=\"" + num(top + ph) + "\" y2=\"" + num(top + ph + 5) +
         "\" stroke=\"#333\"/>\n";
    o += "<text x=\"" + num(X(x)) + "\" y=\"" + num(top + ph + 19) + "\" text-anchor=\"middle\">" + num(x) + "</text>\n";
  }
  o += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
       "\" fill=\"none\" stroke=\"#333\"/>\n";
  o += "<text x=\"" + num(left + pw / 2) + "\" y=\"" + num(H - 18) + "\" text-anchor=\"middle\">" + esc(x_label) + "</text>\n";
  o += "<text transform=\"translate(18 " + num(top + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\">" + esc(y_label) +
       "</text>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    const std::string c = kColours[i % std::size(kColours)];
    std::vector<Point> pts = s.points;
    std::sort(pts.begin(), pts.end(), [](const Point& a, const Point& b) { return a.x < b.x; });
    std::string line;
    for (const auto& p : pts) line += num(X(p.x)) + "," + num(Y(p.y)) + " ";
    o += "<polyline fill=\"none\" stroke=\"" + c + "\" stroke-width=\"2\" points=\"" + line + "\"/>\n";
    for (const auto& p : pts) {
      if (p.err > 0)
        o += "<line x1=\"" + num(X(p.x)) + "\" x2=\"" + num(X(p.x)) + "\" y1=\"" + num(Y(p.y - p.err)) + "\" y2=\"" +
             num(Y(p.y + p.err)) + "\" stroke=\"" + c + "\"/>\n";
      o += "<circle cx=\"" + num(X(p.x)) + "\" cy=\"" + num(Y(p.y)) + "\" r=\"3.5\" fill=\"" + c + "\"><title>" +
           esc(s.label) + ": " + num(p.y) + "</title></circle>\n";
    }
    const double ly = top + 10 + 20 * static_cast<double>(i);
    o += "<line x1=\"" + num(left + pw + 12) + "\" x2=\"" + num(left + pw + 32) + "\" y1=\"" + num(ly) + "\" y2=\"" + num(ly) +
         "\" stroke=\"" + c + "\" stroke-width=\"2\"/>\n";
    o += "<text x=\"" + num(left + pw + 38) + "\" y=\"" + num(ly + 4) + "\">" + esc(s.label) + "</text>\n";
  }
  o += "</svg>\n";
  AtomicFile f(path);
  f.write(o.data(), o.size());
  f.commit();
}

}  // namespace llmkit::bench
