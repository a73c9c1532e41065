// Publication export of whatever a QCustomPlot shows: PNG at a chosen pixel size and DPI, vector PDF,
// and SVG (QSvgGenerator painting the plot; QCustomPlot has no SVG export). All three render the same
// layout through QCustomPlot::toPainter, so files look like the screen. Files are replaced atomically;
// failures throw PlotError.
#pragma once

#include <QImage>
#include <QString>

class QCustomPlot;

namespace dm::plotting {

// The figure rendered into an image of exactly widthPx × heightPx pixels: laid out at
// widthPx·96/dpi × heightPx·96/dpi logical pixels and scaled by dpi/96, with the dpi in the image's
// metadata. What exportPng writes. The plot keeps that layout until its next replot, so at 96 dpi
// QCPAxis::coordToPixel gives image pixels (tests sample cell colours that way).
QImage renderImage(QCustomPlot* plot, int widthPx, int heightPx, double dpi = 96.0);

// PNG of exactly widthPx × heightPx pixels at `dpi` (e.g. 2400 × 1500 at 300 dpi = an 8 × 5 in figure).
void exportPng(QCustomPlot* plot, const QString& path, int widthPx, int heightPx, double dpi = 96.0);

// Vector PDF, one page of width × height logical pixels (1/96 in each; 768 × 480 = 8 × 5 in).
void exportPdf(QCustomPlot* plot, const QString& path, int width, int height, const QString& title = QString());

// SVG with viewBox 0 0 width height (logical pixels, 96 dpi); text stays text.
void exportSvg(QCustomPlot* plot, const QString& path, int width, int height, const QString& title = QString());

// A figure size in inches and the PNG resolution (PDF and SVG are resolution-free).
struct FigureSize {
  double widthIn = 8.0;
  double heightIn = 5.0;
  double dpi = 300.0;
};

// Picks the format from the suffix (.png, .pdf, .svg; throws PlotError on anything else).
void exportFigure(QCustomPlot* plot, const QString& path, const FigureSize& size = FigureSize());

}  // namespace dm::plotting
