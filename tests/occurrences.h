// Counting a text's occurrences, for tests that check generated SQL.
#ifndef PGCONN_TESTS_OCCURRENCES_H_
#define PGCONN_TESTS_OCCURRENCES_H_

#include <cstddef>
#include <string_view>

namespace pgconn {

// How many times `what` occurs in `text` (overlaps counted).
inline size_t Occurrences(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos;
       at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

}  // namespace pgconn

#endif  // PGCONN_TESTS_OCCURRENCES_H_
