// Cell colour rules of the BABILong figures as pure functions, so tests can check them without drawing:
// the score scale of plot.py, the win/lose tint of plot_compare.py and its --ratio shading.
#pragma once

#include <QColor>
#include <QString>

namespace dm::plotting {

// The figures' colour rules. ColorBlind (the default of every figure): viridis for scores, blue where the
// model is better and orange where it is worse (safe for the common colour-vision deficiencies). Seed:
// the published scripts' red–yellow–green scale and green / red tints. The functions below default to
// Seed so that they state the seed's rules; figure options choose.
enum class Palette { ColorBlind, Seed };
QString paletteName(Palette p);                                  // "colorblind" / "seed"
bool paletteFromName(const QString& name, Palette* out);          // false for an unknown name

// plot.py's colormap: LinearSegmentedColormap.from_list(["red", "yellow", "green"], N=256) with
// vmin 0 / vmax 100, i.e. matplotlib's lookup (index = ⌊v/100 · 256⌋ clipped to 0…255, colour at
// index/255 on red (255,0,0) → yellow (255,255,0) → matplotlib "green" (0,128,0)). Values outside
// 0…100 are clipped; NaN gives missingColor().
QColor scoreColor(double value, Palette p = Palette::Seed);
// Colour of the scale at position t ∈ [0, 1] without quantisation (used for the colour bar).
QColor scoreScaleAt(double t, Palette p = Palette::Seed);  // ColorBlind: viridis
QColor missingColor();  // light grey for NaN cells

// plot_compare.py performance mode: soft green (RGBA 0.85, 1.0, 0.85) where the model beats the
// baseline, soft red (1.0, 0.85, 0.85) where it loses, white where they are equal.
QColor compareCellColor(double model, double baseline, Palette p = Palette::Seed);
QColor compareWinColor(Palette p = Palette::Seed);   // ColorBlind: pale blue
QColor compareLoseColor(Palette p = Palette::Seed);  // ColorBlind: pale orange
// With sampling intervals: a difference whose 95 % interval excludes 0 gets the strong tint (Seed: light
// green / pink, ColorBlind: sky blue / orange); one within sampling noise keeps the pale tint.
QColor compareClearWinColor(Palette p = Palette::Seed);
QColor compareClearLoseColor(Palette p = Palette::Seed);

// plot_compare.py --ratio: value max/min of the two (≥ 1), 0 when either is 0.
double ratioValue(double model, double baseline);
// Shade intensity min(1, √((ratio − 1)/2)); 0 for ratio ≤ 1.
double ratioIntensity(double ratio);
// White when either is 0; model better → light green (144,238,144) … dark green (0,100,0);
// otherwise, ties included → light pink (255,182,193) … dark red (139,0,0), blended by the intensity.
// ColorBlind: light → dark blue (better) and light → dark orange (worse), same intensities.
QColor ratioCellColor(double model, double baseline, Palette p = Palette::Seed);

// seaborn's annotation colour: dark grey (".15") on light cells, white on dark ones (relative
// luminance ≤ 0.408).
QColor annotationTextColor(const QColor& cell);

}  // namespace dm::plotting
