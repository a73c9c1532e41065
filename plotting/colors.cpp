#include "plotting/colors.h"

#include <algorithm>
#include <cmath>

namespace dm::plotting {

namespace {

struct Rgb {
  double r, g, b;
};

Rgb lerp(const Rgb& a, const Rgb& b, double t) {
  return {(1.0 - t) * a.r + t * b.r, (1.0 - t) * a.g + t * b.g, (1.0 - t) * a.b + t * b.b};
}

QColor toColor(const Rgb& c) {
  return QColor::fromRgbF(static_cast<float>(std::clamp(c.r, 0.0, 1.0)), static_cast<float>(std::clamp(c.g, 0.0, 1.0)),
                          static_cast<float>(std::clamp(c.b, 0.0, 1.0)));
}

constexpr Rgb kRed{1.0, 0.0, 0.0};
constexpr Rgb kYellow{1.0, 1.0, 0.0};
constexpr Rgb kGreen{0.0, 128.0 / 255.0, 0.0};  // matplotlib's named colour "green" (#008000)

constexpr int kLevels = 256;

Rgb rgb255(int r, int g, int b) { return {r / 255.0, g / 255.0, b / 255.0}; }

}  // namespace

QString paletteName(Palette p) { return p == Palette::Seed ? QStringLiteral("seed") : QStringLiteral("colorblind"); }

bool paletteFromName(const QString& name, Palette* out) {
  const QString n = name.trimmed().toLower();
  if (n == QLatin1String("seed") || n == QLatin1String("redgreen")) {
    *out = Palette::Seed;
    return true;
  }
  if (n == QLatin1String("colorblind") || n == QLatin1String("colourblind") || n == QLatin1String("viridis")) {
    *out = Palette::ColorBlind;
    return true;
  }
  return false;
}

// matplotlib's viridis at t = 0, 1/8, …, 1 (#440154 … #fde725), interpolated linearly between them.
static const Rgb kViridis[9] = {rgb255(68, 1, 84),    rgb255(71, 45, 123),  rgb255(59, 82, 139),
                                rgb255(44, 114, 142), rgb255(33, 145, 140), rgb255(40, 174, 128),
                                rgb255(94, 201, 98),  rgb255(173, 220, 48), rgb255(253, 231, 37)};

QColor scoreScaleAt(double t, Palette p) {
  t = std::clamp(t, 0.0, 1.0);
  if (p == Palette::ColorBlind) {
    const double x = t * 8.0;
    const int i = std::min(7, static_cast<int>(x));
    return toColor(lerp(kViridis[i], kViridis[i + 1], x - i));
  }
  return toColor(t <= 0.5 ? lerp(kRed, kYellow, t / 0.5) : lerp(kYellow, kGreen, (t - 0.5) / 0.5));
}

QColor scoreColor(double value, Palette p) {
  if (std::isnan(value)) return missingColor();
  const double x = value / 100.0;  // Normalize(vmin=0, vmax=100)
  int index;
  if (x >= 1.0)
    index = kLevels - 1;
  else if (x < 0.0)
    index = 0;  // matplotlib's "under" colour defaults to the first entry
  else
    index = std::min(kLevels - 1, static_cast<int>(x * kLevels));
  return scoreScaleAt(static_cast<double>(index) / (kLevels - 1), p);
}

QColor missingColor() { return QColor(210, 210, 210); }

QColor compareWinColor(Palette p) {
  return p == Palette::ColorBlind ? QColor(209, 229, 250) : QColor::fromRgbF(0.85f, 1.0f, 0.85f);
}
QColor compareLoseColor(Palette p) {
  return p == Palette::ColorBlind ? QColor(253, 226, 190) : QColor::fromRgbF(1.0f, 0.85f, 0.85f);
}
// Okabe–Ito sky blue and orange; the seed's ratio colours' light ends.
QColor compareClearWinColor(Palette p) { return p == Palette::ColorBlind ? QColor(86, 180, 233) : QColor(144, 238, 144); }
QColor compareClearLoseColor(Palette p) { return p == Palette::ColorBlind ? QColor(230, 159, 0) : QColor(255, 182, 193); }

QColor compareCellColor(double model, double baseline, Palette p) {
  if (model > baseline) return compareWinColor(p);
  if (model < baseline) return compareLoseColor(p);
  return QColor(Qt::white);
}

double ratioValue(double model, double baseline) {
  if (model == 0.0 || baseline == 0.0) return 0.0;
  return std::max(model, baseline) / std::min(model, baseline);
}

double ratioIntensity(double ratio) {
  if (!(ratio > 1.0)) return 0.0;
  return std::min(1.0, std::sqrt((ratio - 1.0) / 2.0));
}

QColor ratioCellColor(double model, double baseline, Palette p) {
  if (model == 0.0 || baseline == 0.0) return QColor(Qt::white);
  const double t = ratioIntensity(ratioValue(model, baseline));
  if (p == Palette::ColorBlind)  // ColorBrewer Blues / Oranges, light (index 2) → dark (index 8) ends
    return toColor(model > baseline ? lerp(rgb255(198, 219, 239), rgb255(8, 48, 107), t)
                                    : lerp(rgb255(253, 208, 162), rgb255(127, 39, 4), t));
  if (model > baseline) return toColor(lerp(rgb255(144, 238, 144), rgb255(0, 100, 0), t));
  return toColor(lerp(rgb255(255, 182, 193), rgb255(139, 0, 0), t));
}

QColor annotationTextColor(const QColor& cell) {
  auto linear = [](double c) { return c <= 0.03928 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4); };
  const double lum = 0.2126 * linear(cell.redF()) + 0.7152 * linear(cell.greenF()) + 0.0722 * linear(cell.blueF());
  return lum > 0.408 ? QColor(38, 38, 38) : QColor(Qt::white);
}

}  // namespace dm::plotting
