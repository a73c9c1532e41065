// The one error type of dm::plotting: every function that can fail throws PlotError with a message that
// says what was wrong, where, and what would be valid (bad shapes, unwritable export paths, bad options).
#pragma once

#include <stdexcept>
#include <string>

#include <QString>

namespace dm::plotting {

class PlotError : public std::runtime_error {
 public:
  explicit PlotError(const QString& message) : std::runtime_error(message.toStdString()) {}
  explicit PlotError(const std::string& message) : std::runtime_error(message) {}

  QString message() const { return QString::fromStdString(what()); }
};

}  // namespace dm::plotting
