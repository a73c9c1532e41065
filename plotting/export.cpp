#include "plotting/export.h"

#include <cmath>
#include <memory>

#include <QFileInfo>
#include <QImageWriter>
#include <QPageLayout>
#include <QPageSize>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>
#include <qcustomplot.h>

#include "plotting/errors.h"
#include "plotting/style.h"

namespace dm::plotting {

namespace {

constexpr int kMaxPixels = 30000;

void checkPlot(QCustomPlot* plot, const QString& what) {
  if (!plot) throw PlotError(QStringLiteral("%1: no plot to export (null QCustomPlot)").arg(what));
}

void checkSize(int width, int height, const QString& what) {
  if (width < 16 || height < 16 || width > kMaxPixels || height > kMaxPixels)
    throw PlotError(
        QStringLiteral("%1: size %2 × %3 is outside 16…%4 pixels").arg(what).arg(width).arg(height).arg(kMaxPixels));
}

QSaveFile* openSaveFile(QSaveFile& file, const QString& what) {
  if (!file.open(QIODevice::WriteOnly))
    throw PlotError(QStringLiteral("%1: cannot write \"%2\": %3").arg(what, file.fileName(), file.errorString()));
  return &file;
}

void commit(QSaveFile& file, const QString& what) {
  if (!file.commit())
    throw PlotError(QStringLiteral("%1: cannot write \"%2\": %3").arg(what, file.fileName(), file.errorString()));
}

void vectorModes(QCPPainter& painter) {
  painter.setMode(QCPPainter::pmVectorized);
  painter.setMode(QCPPainter::pmNoCaching);
  painter.setMode(QCPPainter::pmNonCosmetic);  // 0-width pens become 1 unit wide, as on screen
}

// Exports lay the plot out at the export size; bring the widget's own layout back on the next event loop.
void restoreLayout(QCustomPlot* plot) { plot->replot(QCustomPlot::rpQueuedReplot); }

}  // namespace

QImage renderImage(QCustomPlot* plot, int widthPx, int heightPx, double dpi) {
  const QString what = QStringLiteral("PNG export");
  checkPlot(plot, what);
  checkSize(widthPx, heightPx, what);
  if (!(dpi >= 10.0 && dpi <= 4800.0))
    throw PlotError(QStringLiteral("%1: %2 dpi is outside 10…4800").arg(what).arg(dpi));
  const int logicalW = static_cast<int>(std::lround(widthPx * kLogicalDpi / dpi));
  const int logicalH = static_cast<int>(std::lround(heightPx * kLogicalDpi / dpi));
  if (logicalW < 16 || logicalH < 16)
    throw PlotError(QStringLiteral("%1: %2 × %3 pixels at %4 dpi is a %5 × %6 logical figure; it needs at least "
                                   "16 × 16 (lower the dpi or raise the pixel size)")
                        .arg(what)
                        .arg(widthPx)
                        .arg(heightPx)
                        .arg(dpi)
                        .arg(logicalW)
                        .arg(logicalH));
  QImage image(widthPx, heightPx, QImage::Format_ARGB32_Premultiplied);
  image.fill(Qt::transparent);
  {
    QCPPainter painter(&image);
    painter.scale(static_cast<double>(widthPx) / logicalW, static_cast<double>(heightPx) / logicalH);
    plot->toPainter(&painter, logicalW, logicalH);
  }
  const int dotsPerMeter = static_cast<int>(std::lround(dpi / 0.0254));
  image.setDotsPerMeterX(dotsPerMeter);
  image.setDotsPerMeterY(dotsPerMeter);
  return image;
}

void exportPng(QCustomPlot* plot, const QString& path, int widthPx, int heightPx, double dpi) {
  const QImage image = renderImage(plot, widthPx, heightPx, dpi);
  const QString what = QStringLiteral("PNG export");
  QSaveFile file(path);
  openSaveFile(file, what);
  QImageWriter writer(&file, "png");
  if (!writer.write(image))
    throw PlotError(QStringLiteral("%1: cannot write \"%2\": %3").arg(what, path, writer.errorString()));
  commit(file, what);
  restoreLayout(plot);
}

namespace {

// The vector exports: checks, an atomically replaced file, a device set up by `makeDevice` on it, the
// plot painted at width × height logical pixels.
template <typename MakeDevice>
void exportVector(QCustomPlot* plot, const QString& path, int width, int height, const QString& what,
                  MakeDevice makeDevice) {
  checkPlot(plot, what);
  checkSize(width, height, what);
  QSaveFile file(path);
  openSaveFile(file, what);
  {
    auto device = makeDevice(file);
    QCPPainter painter;
    if (!painter.begin(device.get())) throw PlotError(QStringLiteral("%1: cannot start painting \"%2\"").arg(what, path));
    vectorModes(painter);
    plot->toPainter(&painter, width, height);
    painter.end();
  }
  commit(file, what);
  restoreLayout(plot);
}

}  // namespace

void exportPdf(QCustomPlot* plot, const QString& path, int width, int height, const QString& title) {
  exportVector(plot, path, width, height, QStringLiteral("PDF export"), [&](QSaveFile& file) {
    auto writer = std::make_unique<QPdfWriter>(&file);
    writer->setResolution(static_cast<int>(kLogicalDpi));
    writer->setCreator(QStringLiteral("Diff-Mamba Studio"));
    writer->setTitle(title.isEmpty() ? QFileInfo(path).completeBaseName() : title);
    const QPageSize page(QSizeF(width * 72.0 / kLogicalDpi, height * 72.0 / kLogicalDpi), QPageSize::Point, QString(),
                         QPageSize::ExactMatch);
    writer->setPageLayout(QPageLayout(page, QPageLayout::Portrait, QMarginsF(0, 0, 0, 0)));
    return writer;
  });
}

void exportSvg(QCustomPlot* plot, const QString& path, int width, int height, const QString& title) {
  exportVector(plot, path, width, height, QStringLiteral("SVG export"), [&](QSaveFile& file) {
    auto generator = std::make_unique<QSvgGenerator>();
    generator->setOutputDevice(&file);
    generator->setSize(QSize(width, height));
    generator->setViewBox(QRect(0, 0, width, height));
    generator->setResolution(static_cast<int>(kLogicalDpi));
    generator->setTitle(title.isEmpty() ? QFileInfo(path).completeBaseName() : title);
    generator->setDescription(QStringLiteral("Diff-Mamba Studio figure"));
    return generator;
  });
}

void exportFigure(QCustomPlot* plot, const QString& path, const FigureSize& size) {
  if (!(size.widthIn > 0.0 && size.heightIn > 0.0))
    throw PlotError(
        QStringLiteral("figure export: size %1 × %2 in must be positive").arg(size.widthIn).arg(size.heightIn));
  const QString suffix = QFileInfo(path).suffix().toLower();
  const int logicalW = static_cast<int>(std::lround(size.widthIn * kLogicalDpi));
  const int logicalH = static_cast<int>(std::lround(size.heightIn * kLogicalDpi));
  if (suffix == QLatin1String("png"))
    exportPng(plot, path, static_cast<int>(std::lround(size.widthIn * size.dpi)),
              static_cast<int>(std::lround(size.heightIn * size.dpi)), size.dpi);
  else if (suffix == QLatin1String("pdf"))
    exportPdf(plot, path, logicalW, logicalH);
  else if (suffix == QLatin1String("svg"))
    exportSvg(plot, path, logicalW, logicalH);
  else
    throw PlotError(QStringLiteral("figure export: \"%1\" has an unknown format \".%2\" (use .png, .pdf or .svg)")
                        .arg(path, suffix));
}

}  // namespace dm::plotting
