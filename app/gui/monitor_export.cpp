// The Monitor's exports: every shown curve as CSV (a metric column when there are several plots), and the
// plots as PNG / PDF / SVG (the whole grid as laid out when there are several).
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QImage>
#include <QMessageBox>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgGenerator>
#include <qcustomplot.h>

#include "app/gui/monitor_view.h"
#include "plotting/csv.h"
#include "plotting/curve_plot.h"
#include "plotting/export.h"

namespace dm {
namespace gui {

// Asks where (suggesting <workspace>/figures/curves-<metric>.<ext>), writes, and says what happened.
void MonitorView::exportWithDialog(const QString& title, const QString& ext, const QString& filter,
                                   QString (MonitorView::*write)(const QString&) const) {
  const QString dir = workspace_.isEmpty() ? QString() : QDir(workspace_).filePath(QStringLiteral("figures"));
  const QString name = QStringLiteral("curves-%1.%2").arg(QString(metric()).replace('/', '-'), ext);
  const QString path = QFileDialog::getSaveFileName(this, title, QDir(dir).filePath(name), filter);
  if (path.isEmpty()) return;
  const QString err = (this->*write)(path);
  if (err.isEmpty())
    QMessageBox::information(this, tr("Export"), tr("Wrote %1").arg(path));
  else
    QMessageBox::warning(this, tr("Export"), err);
}

QString MonitorView::exportCsv(const QString& path) const {
  int curves = 0;
  for (const auto& p : panels_) curves += p->curves->curveCount();
  if (curves == 0) return tr("No curves are shown.");
  try {
    if (panels_.size() == 1) {
      panels_[0]->curves->writeCsv(path);
      return {};
    }
    // Several plots: one file, a metric column first.
    plotting::CsvWriter out(path);
    out.row({QStringLiteral("metric"), QStringLiteral("curve"), QStringLiteral("step"), QStringLiteral("wall_s"),
             QStringLiteral("y"), QStringLiteral("y_smoothed")});
    for (size_t i = 0; i < panels_.size(); ++i)
      panels_[i]->curves->writeCsvRows(out, {i == 0 ? metric() : panels_[i]->metric});
    out.commit();
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

QString MonitorView::exportImage(const QString& path) const {
  int curves = 0;
  for (const auto& p : panels_) curves += p->curves->curveCount();
  if (curves == 0) return tr("No curves are shown.");
  try {
    if (panels_.size() == 1) {
      plotting::exportFigure(panels_[0]->plot, path);
      return {};
    }
    // The grid as laid out on screen, at twice its size for PNG, as vectors for PDF and SVG.
    const QString suffix = QFileInfo(path).suffix().toLower();
    const QSize size = grid_->size();
    if (suffix == "png") {
      QImage image(size * 2, QImage::Format_ARGB32);
      image.fill(Qt::white);
      QPainter painter(&image);
      painter.scale(2, 2);
      grid_->render(&painter, QPoint(), QRegion(), QWidget::DrawChildren);
      painter.end();
      if (!image.save(path)) return tr("Cannot write %1").arg(path);
    } else if (suffix == "pdf") {
      QPdfWriter pdf(path);
      pdf.setResolution(96);
      pdf.setPageSize(QPageSize(QSizeF(size.width() * 72.0 / 96.0, size.height() * 72.0 / 96.0), QPageSize::Point));
      pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
      QPainter painter(&pdf);
      if (!painter.isActive()) return tr("Cannot write %1").arg(path);
      grid_->render(&painter, QPoint(), QRegion(), QWidget::DrawChildren);
    } else if (suffix == "svg") {
      QSvgGenerator svg;
      svg.setFileName(path);
      svg.setSize(size);
      svg.setViewBox(QRect(QPoint(), size));
      QPainter painter(&svg);
      if (!painter.isActive()) return tr("Cannot write %1").arg(path);
      grid_->render(&painter, QPoint(), QRegion(), QWidget::DrawChildren);
    } else {
      return tr("Unknown image format \"%1\": use .png, .pdf or .svg").arg(QFileInfo(path).suffix());
    }
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
  return {};
}

}  // namespace gui
}  // namespace dm
