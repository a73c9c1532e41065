#include "app/gui/figure_export.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMouseEvent>
#include <QToolTip>
#include <qcustomplot.h>
#include <stdexcept>

namespace dm {
namespace gui {

QString FigureExport::folder(const QString& workspace) {
  return !workspace.isEmpty() ? QDir(workspace).filePath(QStringLiteral("figures")) : QDir::home().filePath(QStringLiteral("figures"));
}

QString FigureExport::write(QCustomPlot* plot, const QString& path, const plotting::FigureSize& size,
                            const std::function<void(const QString& csv)>& writeCsv) {
  const QFileInfo fi(path);
  if (!fi.dir().exists() && !QDir().mkpath(fi.dir().path()))
    throw std::runtime_error(tr("Cannot create the folder %1").arg(fi.dir().path()).toStdString());
  const bool csvOnly = fi.suffix().compare("csv", Qt::CaseInsensitive) == 0;
  const QString csv = csvOnly ? path : fi.dir().filePath(fi.completeBaseName() + ".csv");
  if (!csvOnly) {
    plotting::exportFigure(plot, path, size);
    plot->replot();  // back to the widget's own size
  }
  writeCsv(csv);
  return csvOnly ? tr("Wrote %1").arg(QDir::toNativeSeparators(csv))
                 : tr("Wrote %1 and its numbers %2").arg(QDir::toNativeSeparators(path), QDir::toNativeSeparators(csv));
}

QString FigureExport::ask(QWidget* parent, const QString& suggested) {
  QDir().mkpath(QFileInfo(suggested).path());
  return QFileDialog::getSaveFileName(parent, tr("Export figure"), suggested, tr("PDF (*.pdf);;PNG (*.png);;SVG (*.svg);;CSV (*.csv)"));
}

void FigureExport::hoverTip(QWidget* plot, QEvent* event, const std::function<QString(const QPoint&)>& tipAt) {
  if (event->type() != QEvent::MouseMove) return;
  const auto pos = static_cast<QMouseEvent*>(event)->position().toPoint();
  const QString tip = tipAt(pos);
  if (tip.isEmpty())
    QToolTip::hideText();
  else
    QToolTip::showText(plot->mapToGlobal(pos), tip, plot);
}

}  // namespace gui
}  // namespace dm
