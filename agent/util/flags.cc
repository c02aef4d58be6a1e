#include "util/flags.h"

namespace pgconn {

FlagReader::FlagReader(const std::vector<std::string>& args, std::string help)
    : args_(args), help_(std::move(help)) {}

Result<bool> FlagReader::Next() {
  if (next_ >= args_.size()) return false;
  const std::string& a = args_[next_++];
  inline_value_.reset();
  if (a == "-h") {
    name_ = "help";
    return true;
  }
  if (a.rfind("--", 0) != 0 || a.size() == 2) {
    return Status::InvalidArgument("unexpected argument \"" + a + "\" (see " +
                                   help_ + ")");
  }
  name_ = a.substr(2);
  if (const auto eq = name_.find('='); eq != std::string::npos) {
    inline_value_ = name_.substr(eq + 1);
    name_.resize(eq);
  }
  return true;
}

Result<std::string> FlagReader::Value() {
  if (inline_value_) return *inline_value_;
  if (next_ >= args_.size()) {
    return Status::InvalidArgument("flag --" + name_ + " needs a value");
  }
  return args_[next_++];
}

std::optional<std::string> FlagReader::OptionalValue() {
  if (inline_value_) return inline_value_;
  if (next_ < args_.size() && args_[next_].rfind("--", 0) != 0) {
    return args_[next_++];
  }
  return std::nullopt;
}

Status FlagReader::Unknown() const {
  return Status::InvalidArgument("unknown flag --" + name_ + " (see " + help_ +
                                 ")");
}

}  // namespace pgconn
