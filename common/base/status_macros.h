// Early-return helpers for absl::Status / absl::StatusOr.
// Debian's abseil 20220623 lacks ABSL_RETURN_IF_ERROR and ABSL_ASSIGN_OR_RETURN.
#ifndef TONTINE_COMMON_BASE_STATUS_MACROS_H_
#define TONTINE_COMMON_BASE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define TONTINE_INTERNAL_CONCAT_INNER(a, b) a##b
#define TONTINE_INTERNAL_CONCAT(a, b) TONTINE_INTERNAL_CONCAT_INNER(a, b)

// Evaluates `expr` (an absl::Status); returns it from the enclosing function unless OK.
#define TONTINE_RETURN_IF_ERROR(expr)                                      \
  do {                                                                     \
    ::absl::Status tontine_internal_status = (expr);                       \
    if (!tontine_internal_status.ok()) return tontine_internal_status;     \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status unless OK, else moves the
// value into `lhs` (which may be a declaration such as `auto x`).
#define TONTINE_ASSIGN_OR_RETURN(lhs, rexpr)                                              \
  TONTINE_INTERNAL_ASSIGN_OR_RETURN(TONTINE_INTERNAL_CONCAT(tontine_statusor_, __LINE__), \
                                    lhs, rexpr)

#define TONTINE_INTERNAL_ASSIGN_OR_RETURN(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                      \
  if (!statusor.ok()) return std::move(statusor).status();      \
  lhs = std::move(statusor).value()

#endif  // TONTINE_COMMON_BASE_STATUS_MACROS_H_
