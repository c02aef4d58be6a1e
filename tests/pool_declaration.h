// A declared pool for tests, as the configuration's `pools:` entry would
// give it.
#ifndef PGCONN_TESTS_POOL_DECLARATION_H_
#define PGCONN_TESTS_POOL_DECLARATION_H_

#include <string>
#include <utility>

#include "pgconn/config.h"

namespace pgconn {

inline PoolDeclaration Pool(std::string application, int replicas, int pool_min,
                            int pool_max) {
  PoolDeclaration p;
  p.application = std::move(application);
  p.replicas = replicas;
  p.pool_min = pool_min;
  p.pool_max = pool_max;
  return p;
}

}  // namespace pgconn

#endif  // PGCONN_TESTS_POOL_DECLARATION_H_
