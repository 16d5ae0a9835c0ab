// Status and Result: how every fallible engine call reports failure.
//
// A Status is OK or carries a Code and a message with context
// ("file.h5: version v3: /a/b: chunk 12 out of range"). errno does not exist
// in the engine: fs/ maps Codes to errno in one place.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vh5 {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,         // no such version, node or attribute
    kNotHdf5,          // the file is not an HDF5 file
    kNotVersioned,     // HDF5, but no versioned data in it
    kCorruption,       // versioned data that breaks the format's invariants
    kIOError,          // the OS or HDF5 failed to read or write
    kInvalidArgument,  // a caller's value that can never be valid
    kReadOnly,         // a change to something immutable
    kUnsupported,      // valid HDF5 the engine does not handle
    kExists,           // the name is taken
    kBusy,             // cannot be done in the current state
    kNoSpace,          // disk full
    kNotADirectory,    // path component is a dataset
    kIsADirectory,     // a group where a dataset was expected
    kNotEmpty,         // a group that still has children
    kStale,            // another process changed the file under an object (ESTALE)
    kTryAgain,         // another process is writing the file; try again later (EAGAIN)
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status NotHdf5(std::string_view msg) { return Status(Code::kNotHdf5, msg); }
  static Status NotVersioned(std::string_view msg) { return Status(Code::kNotVersioned, msg); }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status ReadOnly(std::string_view msg) { return Status(Code::kReadOnly, msg); }
  static Status Unsupported(std::string_view msg) { return Status(Code::kUnsupported, msg); }
  static Status Exists(std::string_view msg) { return Status(Code::kExists, msg); }
  static Status Busy(std::string_view msg) { return Status(Code::kBusy, msg); }
  static Status NoSpace(std::string_view msg) { return Status(Code::kNoSpace, msg); }
  static Status NotADirectory(std::string_view msg) { return Status(Code::kNotADirectory, msg); }
  static Status IsADirectory(std::string_view msg) { return Status(Code::kIsADirectory, msg); }
  static Status NotEmpty(std::string_view msg) { return Status(Code::kNotEmpty, msg); }
  static Status Stale(std::string_view msg) { return Status(Code::kStale, msg); }
  static Status TryAgain(std::string_view msg) { return Status(Code::kTryAgain, msg); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }

  // "NotFound: file.h5: version v9" style, for logs and stderr.
  std::string ToString() const;
  static const char* CodeName(Code code);

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

 private:
  Status(Code code, std::string_view msg) : code_(code), message_(msg) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace vh5

// Propagates a non-OK Status from an expression returning Status.
#define VH5_RETURN_IF_ERROR(expr)    \
  do {                               \
    ::vh5::Status _vh5_s = (expr);   \
    if (!_vh5_s.ok()) return _vh5_s; \
  } while (0)

#define VH5_CONCAT_INNER(a, b) a##b
#define VH5_CONCAT(a, b) VH5_CONCAT_INNER(a, b)
// `VH5_ASSIGN_OR_RETURN(auto x, MakeX());` binds x or returns the error.
#define VH5_ASSIGN_OR_RETURN(lhs, expr)                                                   \
  auto VH5_CONCAT(_vh5_r_, __LINE__) = (expr);                                            \
  if (!VH5_CONCAT(_vh5_r_, __LINE__).ok()) return VH5_CONCAT(_vh5_r_, __LINE__).status(); \
  lhs = std::move(VH5_CONCAT(_vh5_r_, __LINE__)).value()
