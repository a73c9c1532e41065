// Typed exceptions thrown by the core. Each message says what was wrong, where, and what would be valid.
#pragma once

#include <stdexcept>
#include <string>

namespace dm {

// Base of every error the core reports to a user.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An invalid setting: names the parameter, its value and the rule it broke.
class ConfigError : public Error {
 public:
  ConfigError(std::string parameter, std::string value, std::string rule)
      : Error("invalid " + parameter + " = " + value + ": " + rule),
        parameter_(std::move(parameter)),
        value_(std::move(value)),
        rule_(std::move(rule)) {}
  const std::string& parameter() const noexcept { return parameter_; }
  const std::string& value() const noexcept { return value_; }
  const std::string& rule() const noexcept { return rule_; }

 private:
  std::string parameter_, value_, rule_;
};

// Tensors of the wrong shape, dtype or device handed to an op.
class ShapeError : public Error {
 public:
  using Error::Error;
};

// A file that is missing, truncated or not what it claims to be.
class FileError : public Error {
 public:
  FileError(const std::string& path, const std::string& what) : Error(path + ": " + what), path_(path) {}
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

}  // namespace dm
